"""BankRouting: evaluation through the TaskKnowledgeBank, with or without task ids.

NSR's inference (the nsr-bench paper, "Neural Subspace Reallocation"): with the task id (``oracle``) a
test experience is evaluated with its task's entry; without it (``agnostic``) each test sample (or, with
``routing="batch"``, each whole test batch) is embedded and routed to its nearest entry, and classified
among that entry's classes. Batches of a test stream are task-pure, so batch routing gets the task's
statistics for free; per-sample routing is what a user without task ids gets. The mode is the ``mode``
argument of each ``strategy.eval`` call (Avalanche passes it to every hook); the live adapter is restored
after every evaluation, so evaluating never changes what is trained. A task whose entry was evicted (a
Bank cap below the number of tasks) is evaluated, even with its task id, the way a user would have to: each
sample borrows its nearest stored adapter.
"""

from __future__ import annotations

import torch
from avalanche.core import SupervisedPlugin
from torch import Tensor

from nsr_bench.nsr.adapters import ActiveAdapter, State
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.embed import sample_embeddings, task_embedding
from nsr_bench.plugins.reporting import PluginReport
from nsr_bench.training.loader import TensorBatchLoader

ROUTING = ("sample", "batch")


class BankRouting(SupervisedPlugin):
    """Load Bank entries for evaluation (per test experience, or per routed sample or batch), restore after.

    Args:
        bank: the Bank the allocation plugin fills.
        reference: feature mean centring the routing embeddings (as for the recall key).
        generator: draws the unused rank directions of a loaded adapter (the cell's evaluation stream,
            never the training streams: evaluating must not change what is trained).
        routing: ``sample`` (each test sample on its own) or ``batch`` (one decision per test batch).
    """

    def __init__(self, bank: TaskKnowledgeBank, reference: Tensor | None, generator: torch.Generator,
                 routing: str = "sample"):
        super().__init__()
        if routing not in ROUTING:
            raise ValueError(f"unknown routing {routing!r}; choose one of {ROUTING}")
        self.bank, self.reference, self.generator, self.routing = bank, reference, generator, routing
        self.hits = self.routed = 0
        self._adapter: ActiveAdapter | None = None
        self._active: State | None = None
        self._loaded: int | None = None
        self._evicted_task = False
        self._keys: dict[int, tuple[Tensor, Tensor]] = {}

    def report(self) -> PluginReport:
        """``task_id_acc``: the share of test samples of the last agnostic evaluation routed to an entry last
        trained on the sample's own task."""
        return PluginReport(summary={"task_id_acc": self.hits / self.routed if self.routed else None,
                                     "routing": self.routing,
                                     "evicted_task_eval": "nearest stored adapter per sample, task id known"})

    def routes_by_mode(self) -> bool:
        return True

    def before_eval(self, strategy, mode: str = "oracle", **kwargs):
        if mode == "agnostic":  # task_id_acc describes the last agnostic evaluation
            self.hits = self.routed = 0
        self._loaded = None
        self._adapter = ActiveAdapter.of(strategy.model)
        self._active = self._adapter.capture() if self._adapter.layers else None

    def before_eval_exp(self, strategy, mode: str = "oracle", **kwargs):
        self._evicted_task = False
        if self._active is None or mode != "oracle":
            return
        task = int(strategy.experience.task_label)
        entry_id = self.bank.entry_for_task(task)
        if entry_id is None:
            self._restore_active()
            self._evicted_task = task in self.bank.evicted_tasks()
        else:
            self._load(entry_id)

    def before_eval_forward(self, strategy, mode: str = "oracle", **kwargs):
        if not self._routes(mode) or self.routing != "batch":
            return
        entry_id, _ = self.bank.recall(task_embedding(strategy.model, strategy.mb_x, self.reference), 1)[0]
        self._load(entry_id)
        self._count([entry_id] * len(strategy.mb_x), int(strategy.experience.task_label))

    def after_eval_forward(self, strategy, mode: str = "oracle", **kwargs):
        if self._evicted_task and len(self.bank) > 0:
            # a task whose entry was evicted: with its task id known, a user can only borrow the nearest
            # stored adapter for each sample; the task's own head rows stay the live model's
            strategy.mb_output = self._route_samples(strategy, restrict=False)
        elif self._routes(mode):
            if self.routing == "batch":
                classes = self.bank[self._loaded].meta.classes
                strategy.mb_output = strategy.model.head.mask_classes(strategy.mb_output, classes)
            else:
                strategy.mb_output = self._route_samples(strategy, restrict=True)

    def after_eval(self, strategy, mode: str = "oracle", **kwargs):
        if self._active is not None:
            self._restore_active()
            self._active = None

    def _routes(self, mode: str) -> bool:
        return self._active is not None and mode == "agnostic" and len(self.bank) > 0

    def _restore_active(self) -> None:
        """Put the live adapter back; no entry is loaded any more."""
        self._adapter.restore(self._active)
        self._loaded = None

    def _load(self, entry_id: int) -> None:
        if entry_id != self._loaded:
            self._adapter.load(self.bank, [entry_id], [1.0], self.generator)
            self._loaded = entry_id

    def _route_samples(self, strategy, restrict: bool) -> Tensor:
        """Outputs with each sample routed to its nearest entry (classified among that entry's classes when
        ``restrict``); counts the routing when it is the agnostic evaluation."""
        x, head = strategy.mb_x, strategy.model.head
        routed = self.bank.nearest(self._embeddings(strategy))
        output = torch.empty_like(strategy.mb_output)
        owners = torch.tensor(routed, device=x.device)
        for entry_id in sorted(set(routed)):
            self._load(entry_id)
            rows = owners == entry_id
            logits = strategy.model(x[rows])
            output[rows] = head.mask_classes(logits, self.bank[entry_id].meta.classes) if restrict else logits
        if restrict:
            self._count(routed, int(strategy.experience.task_label))
        return output

    def _embeddings(self, strategy) -> Tensor:
        """The batch's routing keys. They are frozen features, the same at every evaluation of a cell, so a
        tensor loader's whole set is embedded once and looked up by sample index."""
        loader = strategy.dataloader
        if not isinstance(loader, TensorBatchLoader) or loader.indices is None:
            return sample_embeddings(strategy.model, strategy.mb_x, self.reference)
        if id(loader.x) not in self._keys:  # the set is held with its keys, so its id is never reused
            self._keys[id(loader.x)] = loader.x, sample_embeddings(strategy.model, loader.x, self.reference)
        return self._keys[id(loader.x)][1][loader.indices.cpu()]

    def _count(self, routed: list[int], task: int) -> None:
        self.routed += len(routed)
        self.hits += sum(self._last_task(e) == task for e in routed)

    def _last_task(self, entry_id: int) -> int | None:
        meta = self.bank[entry_id].meta
        return meta.last_task if meta.last_task is not None else (meta.tasks[-1] if meta.tasks else None)
