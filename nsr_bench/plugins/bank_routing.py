"""BankRouting: evaluation through the TaskKnowledgeBank, with or without task ids.

NSR's inference (the nsr-bench paper, "Neural Subspace Reallocation"): with the task id (``oracle``) a
test experience is evaluated with its task's entry; without it (``agnostic``) each test batch is embedded
and routed to its nearest entry, whose classes it is then classified among. The mode is the ``mode``
argument of each ``strategy.eval`` call (Avalanche passes it to every hook); the live adapter is
restored after every evaluation, so evaluating never changes what is trained.
"""

from __future__ import annotations

import torch
from avalanche.core import SupervisedPlugin
from torch import Tensor

from nsr_bench.nsr.adapters import ActiveAdapter, State
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.embed import task_embedding
from nsr_bench.plugins.reporting import PluginReport


class BankRouting(SupervisedPlugin):
    """Load Bank entries for evaluation (per test experience, or per routed batch) and restore afterwards.

    Args:
        bank: the Bank the allocation plugin fills.
        reference: feature mean centring the routing embeddings (as for the recall key).
        generator: draws the unused rank directions of a loaded adapter (the cell's evaluation stream,
            never the training streams: evaluating must not change what is trained).
    """

    def __init__(self, bank: TaskKnowledgeBank, reference: Tensor | None, generator: torch.Generator):
        super().__init__()
        self.bank, self.reference, self.generator = bank, reference, generator
        self.hits = self.batches = 0
        self._adapter: ActiveAdapter | None = None
        self._active: State | None = None
        self._loaded: int | None = None

    def report(self) -> PluginReport:
        """Routing accuracy: the share of test batches of the last agnostic evaluation routed to an entry
        that learned their task."""
        return PluginReport(summary={"routing_acc": self.hits / self.batches if self.batches else None})

    def before_eval(self, strategy, mode: str = "oracle", **kwargs):
        self.hits = self.batches = 0
        self._loaded = None
        self._adapter = ActiveAdapter.of(strategy.model)
        self._active = self._adapter.capture() if self._adapter.layers else None

    def before_eval_exp(self, strategy, mode: str = "oracle", **kwargs):
        if self._active is None or mode != "oracle":
            return
        entry_id = self.bank.entry_for_task(int(strategy.experience.task_label))
        if entry_id is None:
            self._adapter.restore(self._active)
        else:
            self._adapter.load(self.bank, [entry_id], [1.0], self.generator)

    def before_eval_forward(self, strategy, mode: str = "oracle", **kwargs):
        if self._active is None or mode != "agnostic" or len(self.bank) == 0:
            return
        query = task_embedding(strategy.model, strategy.mb_x, self.reference)
        entry_id, _ = self.bank.recall(query, 1)[0]
        if entry_id != self._loaded:
            self._adapter.load(self.bank, [entry_id], [1.0], self.generator)
            self._loaded = entry_id
        self.batches += 1
        self.hits += int(int(strategy.experience.task_label) in self.bank[entry_id].meta.tasks)

    def after_eval_forward(self, strategy, mode: str = "oracle", **kwargs):
        if mode == "agnostic" and self._loaded is not None:
            classes = self.bank[self._loaded].meta.classes
            strategy.mb_output = strategy.model.head.mask_classes(strategy.mb_output, classes)

    def after_eval(self, strategy, mode: str = "oracle", **kwargs):
        if self._active is not None:
            self._adapter.restore(self._active)
            self._active = None
