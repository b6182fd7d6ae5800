"""AdapterAllocation: NSR's allocate -> train -> compress -> reserve cycle over LoRA adapters.

NSR treats continual learning as memory management over parameter subspaces of a frozen backbone
(the nsr-bench paper, "Neural Subspace Reallocation"): each experience is learned by LoRA adapters
(Hu et al., ICLR 2022); afterwards the update is compressed by SVD and reserved in a
TaskKnowledgeBank; at the next experience an allocation rule recalls, merges or resets the active
adapter from the Bank by task-embedding similarity (steps 1-4 of the paper; distillation and evaluation
routing are their own plugins). With ``bank=None`` the same plugin runs the memoryless rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.nsr.adapters import State
from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.nsr.bank import BankEntry, EntryMeta, TaskKnowledgeBank
from nsr_bench.nsr.compress import compress_factors
from nsr_bench.nsr.embed import task_embedding
from nsr_bench.plugins.lora_adapters import LoRAAdapters
from nsr_bench.plugins.reporting import PluginReport, tensor_bytes
from nsr_bench.training.inference import evaluating
from nsr_bench.training.loader import experience_classes, sample_experience

TRIAL_SAMPLES = 1024  # at most this many training samples of an experience feed a rule's trials


class AdapterAllocation(LoRAAdapters):
    """Allocate the active adapter by a rule, train it, and reserve it (compressed) in the Bank.

    Args:
        rule: the allocation rule (similarity for NSR, a heuristic, or a learned allocator).
        bank: the TaskKnowledgeBank, or ``None`` to switch memory off.
        targets, rank, alpha: the LoRA adapters (see :class:`LoRAAdapters`).
        energy, fixed_rank: SVD compression by retained energy, or to a fixed rank (one of them).
        store_dtype: ``fp32`` or ``fp16`` storage of the compressed factors.
        embed_samples: training samples used to embed a task (and to probe and score an entry).
        reference: feature mean of the backbone's pre-training data, centring the embeddings.
        feedback_steps: training-batch accuracies of this many first updates go back to the rule.
        generator: draws fresh adapter initialisations; sampler: draws the embedding samples.
    """

    def __init__(self, rule: AllocationRule, bank: TaskKnowledgeBank | None, targets: list[str],
                 rank: int = 4, alpha: float = 8.0, energy: float | None = 0.99,
                 fixed_rank: int | None = None, store_dtype: str = "fp32", embed_samples: int = 256,
                 reference: Tensor | None = None, feedback_steps: int = 5,
                 generator: torch.Generator | None = None, sampler: torch.Generator | None = None):
        super().__init__(targets, rank, alpha, generator)
        if rule.uses_bank and bank is None:
            raise ValueError(f"allocation rule {type(rule).__name__} recalls from the Bank; "
                             "switch the Bank on (bank=true) or choose a memoryless rule")
        self.rule, self.bank = rule, bank
        self.energy = None if fixed_rank else energy
        self.fixed_rank, self.store_dtype = fixed_rank, store_dtype
        self.embed_samples, self.reference, self.feedback_steps = embed_samples, reference, feedback_steps
        self.sampler = sampler if sampler is not None else torch.Generator().manual_seed(1)
        self.slots: dict[int, State] = {}
        self.decisions: list[dict] = []
        self._query: Tensor | None = None
        self._decision: Decision | None = None
        self._task = 0
        self._early: list[float] = []

    def report(self) -> PluginReport:
        bank_bytes = self.bank.nbytes if self.bank is not None else 0
        slot_bytes = tensor_bytes(self.slots)
        summary = {"bank_mb_total": bank_bytes / 1e6,  # per entry, and per distinct task the Bank learned
                   "bank_mb_per_entry": bank_bytes / len(self.bank) / 1e6 if self.bank else 0.0,
                   "bank_mb_per_task": bank_bytes / len(self.bank.learned_tasks) / 1e6 if self.bank else 0.0}
        if self.bank is not None:  # trained tasks no entry has learned at the end
            summary["evicted_tasks"] = sorted(self.bank.evicted_tasks())
        manifest = {**super().report().manifest, "decisions": self.decisions,
                    "rule_history": getattr(self.rule, "history", None)}
        artifacts = {"bank": self.bank.to_bytes()} if self.bank is not None else {}
        return PluginReport(manifest, summary, bank_bytes + slot_bytes, artifacts)

    # ------------------------------------------------------------------ hooks
    def before_training_exp(self, strategy, **kwargs):
        model, exp = strategy.model, strategy.experience
        x, y = self._sample(exp, strategy.device)
        self._task = int(exp.task_label)
        self._query = task_embedding(model, x, self.reference) if self.bank is not None else None
        ctx = AllocationContext(self._query, self.bank, self.experience, task=self._task,
                                probe=lambda d: self._probe(d, x, y), trial=self._trials(strategy))
        decision = self.rule.decide(ctx)
        self._apply(decision, touch=True)
        self._early = []
        self._decision = decision
        strategy.optimizer.state.clear()
        self.decisions.append({
            "experience": self.experience, "task": self._task, "action": decision.action,
            "entries": decision.entries, "weights": decision.weights, "similarity": decision.similarity,
            "entry_tasks": ([self.bank[e].meta.tasks for e in decision.entries]
                            if decision.action in ("recall", "merge") else []),
        })

    def after_forward(self, strategy, **kwargs):
        """Collect the task-masked training-batch accuracies of the first updates (the rule's feedback)."""
        if len(self._early) < self.feedback_steps:
            logits = strategy.model.head.mask_tasks(strategy.mb_output.detach(), strategy.mb_task_id)
            self._early.append(float((logits.argmax(1) == strategy.mb_y).float().mean()))

    def after_training_exp(self, strategy, **kwargs):
        self.rule.feedback(self._early)
        if self._decision.action == "slot":
            self.slots[self._decision.entries[0]] = self.adapter.capture()
        if self.bank is not None:
            self._reserve(strategy.experience, strategy.device)
        super().after_training_exp(strategy, **kwargs)

    def _trials(self, strategy) -> Callable[[Decision], list[float]] | None:
        """The trial of a decision for a rule that asks for them (``trial_steps``), on one shuffled draw of the
        experience's training data (from its own stream: the cell's streams do not move)."""
        steps = self.rule.trial_steps
        if not steps:
            return None
        generator = torch.Generator().manual_seed(self.experience)
        x, y = sample_experience(strategy.experience, TRIAL_SAMPLES, generator)
        data = (x.to(strategy.device), y.to(strategy.device))
        lr, batch_size = strategy.optimizer.param_groups[0]["lr"], strategy.train_mb_size
        return lambda decision: self._trial(decision, data, lr, batch_size, steps)

    # ------------------------------------------------------------------ mechanism
    def _sample(self, experience, device) -> tuple[Tensor, Tensor]:
        x, y = sample_experience(experience, self.embed_samples, self.sampler)
        return x.to(device), y.to(device)

    def _apply(self, decision: Decision, touch: bool) -> None:
        """Set the active adapter as ``decision`` says; ``touch`` records Bank uses."""
        slot = decision.entries[0] if decision.action == "slot" else None
        if decision.action == "fresh" or (slot is not None and slot not in self.slots):
            # a fresh adapter and the new task's head rows; at the first experience the whole head
            rows = self.adapter.head.task_classes[self._task] if self.experience else None
            self.adapter.reset(self.generator, rows)
        elif slot is not None:
            self.adapter.restore(self.slots[slot])
        elif decision.action in ("recall", "merge"):
            self.adapter.load(self.bank, decision.entries, decision.weights, self.generator)
            for e in decision.entries if touch else ():
                self.bank.touch(e, self.experience)

    def _task_loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, float]:
        """Task-masked logits of the live model on ``(x, y)`` and their accuracy."""
        with evaluating(self.adapter.model) as model:
            logits = model.head.mask_task(model(x), self._task)
        return logits, float((logits.argmax(1) == y).float().mean())

    @contextmanager
    def _branch(self) -> Iterator[None]:
        """Try something on the live adapter: the adapter, its streams and the parameters' gradients are
        restored afterwards, so a branch changes nothing the stream's own training sees."""
        saved = self.adapter.capture()
        generator_state, rng_state = self.generator.get_state(), torch.get_rng_state()
        params = list(self.adapter.model.parameters())
        grads = [p.grad for p in params]
        try:
            yield
        finally:
            self.adapter.restore(saved)
            self.generator.set_state(generator_state)
            torch.set_rng_state(rng_state)
            for p, g in zip(params, grads, strict=True):
                p.grad = g

    def _probe(self, decision: Decision, x: Tensor, y: Tensor) -> float:
        """Loss on a batch of the new task if ``decision`` were applied; model and streams are left unchanged."""
        with self._branch():
            self._apply(decision, touch=False)
            logits, _ = self._task_loss(x, y)
        return float(F.cross_entropy(logits, y))

    def _trial(self, decision: Decision, data: tuple[Tensor, Tensor], lr: float, batch_size: int,
               steps: int) -> list[float]:
        """Early recovery curve of ``decision`` (offline training of a learned rule only): apply it, take
        ``steps`` Adam steps (rate ``lr``) on minibatches of the experience's training ``data``, and return
        the task-masked accuracy on held-out training samples before and after every step; then restore."""
        x, y = data
        held = min(len(y) // 3, 128)
        (x_eval, y_eval), (x_fit, y_fit) = (x[:held], y[:held]), (x[held:], y[held:])
        with self._branch():
            self._apply(decision, touch=False)
            model = self.adapter.model
            optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            curve = [self._task_loss(x_eval, y_eval)[1]]
            for step in range(steps):
                batch = slice(lo := (step * batch_size) % max(len(y_fit) - batch_size, 1), lo + batch_size)
                logits = model.head.mask_task(model(x_fit[batch]), self._task)
                optimizer.zero_grad()
                F.cross_entropy(logits, y_fit[batch]).backward()
                optimizer.step()
                curve.append(self._task_loss(x_eval, y_eval)[1])
        return curve

    def _reserve(self, experience, device) -> None:
        """Compress the active adapter into the Bank. A recalled entry (or the entry a fresh decision
        names) is updated in place and inherits that entry's tasks and classes, whichever task it was
        recalled for."""
        classes = experience_classes(experience)
        decision = self._decision
        target = decision.entries[0] if decision.action in ("recall", "fresh") and decision.entries else None
        tasks = [self._task]
        if target is not None and target in self.bank:
            old = self.bank[target].meta
            tasks, classes = sorted(set(old.tasks) | {self._task}), sorted(set(old.classes) | set(classes))
        else:
            target = None
        entry = self._make_entry(tasks, classes, experience, device)
        if target is not None:
            entry.meta.uses, entry.meta.created = self.bank[target].meta.uses, self.bank[target].meta.created
        self.bank.reserve(entry, self.experience, entry_id=target)

    def _make_entry(self, tasks: list[int], classes: list[int], experience, device) -> BankEntry:
        layers = {n: compress_factors(*layer.delta_factors(), layer.weight_shape, self.energy, self.fixed_rank,
                                      self.store_dtype) for n, layer in self.adapter.layers.items()}
        cast = layers[next(iter(layers))].U.dtype
        head = self.adapter.head
        head_w = head.weight[classes].detach().cpu().to(cast).clone()
        head_b = head.bias[classes].detach().cpu().to(cast).clone()
        _, accuracy = self._task_loss(*self._sample(experience, device))
        meta = EntryMeta(tasks=tasks, classes=classes, accuracy=accuracy, last_task=self._task)
        return BankEntry(self._query, layers, head_w, head_b, meta)
