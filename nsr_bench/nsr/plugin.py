"""NSRPlugin: Neural Subspace Reallocation as an Avalanche ``SupervisedPlugin``.

NSR treats continual learning as memory management over parameter subspaces of a frozen backbone
(the nsr-bench paper, "Neural Subspace Reallocation"): each experience is learned by LoRA adapters
(Hu et al., ICLR 2022); afterwards the update is compressed by SVD and reserved in a
TaskKnowledgeBank; at the next experience an allocation rule recalls, merges or resets the active
adapter from the Bank by task-embedding similarity; distillation (Li & Hoiem, 2017) protects the
outputs of prior tasks. With ``bank=None`` the same plugin runs the memoryless rules.

The model must expose ``features(x)`` (the backbone) and ``head`` (an ``nn.Linear`` over all
classes); :class:`nsr_bench.scenarios.backbones.AdapterNet` does. Adapters are attached in
``before_train_dataset_adaptation``, i.e. before Avalanche (re)builds the optimizer, and are then
re-valued in place, so the optimizer always holds them.
"""

from __future__ import annotations

import copy

import torch
from avalanche.core import SupervisedPlugin
from torch import Tensor, nn

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.nsr.bank import BankEntry, EntryMeta, TaskKnowledgeBank
from nsr_bench.nsr.compress import compress_factors
from nsr_bench.nsr.distill import kd_from_log_probs, kd_loss, teacher_log_probs
from nsr_bench.nsr.embed import task_embedding
from nsr_bench.nsr.lora import LoRALayer, attach_lora, lora_layers
from nsr_bench.training.inference import batched, evaluating
from nsr_bench.training.loader import TensorBatchLoader, sample_experience

INFERENCE_MODES = ("oracle", "agnostic")
MASK_VALUE = -1e9


def mask_logits(logits: Tensor, classes: list[int]) -> Tensor:
    """Keep the logits of ``classes`` (task-incremental head); push the others to ``MASK_VALUE``."""
    keep = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
    keep[classes] = True
    return logits.masked_fill(~keep, MASK_VALUE)


def task_class_mask(task_classes: dict[int, list[int]], num_classes: int, device) -> Tensor:
    """``mask[t, c]`` is True where class c belongs to task t (input of :func:`mask_by_task`)."""
    mask = torch.zeros(max(task_classes) + 1, num_classes, dtype=torch.bool, device=device)
    for task, classes in task_classes.items():
        mask[task, classes] = True
    return mask


def mask_by_task(logits: Tensor, tasks: Tensor, mask: Tensor) -> Tensor:
    """Per-sample :func:`mask_logits`: each row keeps the classes of its own task (replayed samples
    of other tasks keep theirs); ``mask`` comes from :func:`task_class_mask`."""
    return logits.masked_fill(~mask[tasks.to(logits.device)], MASK_VALUE)


def experience_classes(experience) -> list[int]:
    """The sorted class labels present in an Avalanche experience's dataset."""
    return sorted(int(c) for c in experience.dataset.targets.uniques)


class NSRPlugin(SupervisedPlugin):
    """Allocate, train, compress and reserve LoRA adapters; route inference through the Bank.

    Args:
        rule: the allocation rule (similarity for NSR, a heuristic, or a learned allocator).
        bank: the TaskKnowledgeBank, or ``None`` to switch memory off.
        targets: names of the backbone's Linear/Conv2d modules that get adapters.
        rank, alpha: LoRA rank and scale numerator (update = alpha / rank * B A).
        energy, fixed_rank: SVD compression by retained energy, or to a fixed rank (one of them).
        store_dtype: ``fp32`` or ``fp16`` storage of the compressed factors.
        distill_lambda, temperature: weight and temperature of the distillation loss on prior classes.
        embed_samples: training samples used to embed a task.
        reference: feature mean of the backbone's pre-training data, centring the embeddings.
        mask: task-incremental heads (logits masked to the task's classes) or one shared head.
        feedback_steps: training-batch accuracies of this many first updates go back to the rule.
        seed: seeds the fresh adapter initialisations and the embedding sample.
    """

    def __init__(self, rule: AllocationRule, bank: TaskKnowledgeBank | None, targets: list[str],
                 rank: int = 4, alpha: float = 8.0, energy: float | None = 0.99,
                 fixed_rank: int | None = None, store_dtype: str = "fp32",
                 distill_lambda: float = 1.0, temperature: float = 2.0, embed_samples: int = 256,
                 reference: Tensor | None = None, mask: bool = True, feedback_steps: int = 5,
                 seed: int = 0):
        super().__init__()
        if rule.uses_bank and bank is None:
            raise ValueError(f"allocation rule {type(rule).__name__} recalls from the Bank; "
                             "switch the Bank on (bank=true) or choose a memoryless rule")
        self.rule, self.bank, self.targets = rule, bank, targets
        self.rank, self.alpha = rank, alpha
        self.energy = None if fixed_rank else energy
        self.fixed_rank, self.store_dtype = fixed_rank, store_dtype
        self.distill_lambda, self.temperature = distill_lambda, temperature
        self.embed_samples, self.reference, self.mask = embed_samples, reference, mask
        self.feedback_steps = feedback_steps
        self.slots: dict[int, dict[str, Tensor]] = {}
        self.generator = torch.Generator().manual_seed(seed)  # adapter initialisations
        self.sampler = torch.Generator().manual_seed(seed + 1)  # embedding samples (own stream)
        self.inference = "oracle"
        self.layers: dict[str, LoRALayer] = {}
        self.decisions: list[dict] = []
        self.seen_classes: set[int] = set()
        self.task_classes: dict[int, list[int]] = {}
        self.routing = {"hits": 0, "batches": 0}
        self._clock = 0
        self._query: Tensor | None = None
        self._decision: Decision | None = None
        self._classes: list[int] = []
        self._prior: list[int] = []
        self._teacher: nn.Module | None = None
        self._teacher_state: dict[str, Tensor] | None = None
        self._task_mask: Tensor | None = None
        self._teacher_logits: tuple[TensorBatchLoader, Tensor, Tensor] | None = None
        self._raw_logits: Tensor | None = None
        self._active: dict[str, Tensor] | None = None
        self._loaded: int | None = None
        self._early: list[float] = []

    # ------------------------------------------------------------------ training hooks
    def before_train_dataset_adaptation(self, strategy, **kwargs):
        if not self.layers:
            self.layers = attach_lora(strategy.model, self.targets, self.rank, self.alpha)

    def before_training_exp(self, strategy, **kwargs):
        model, exp = strategy.model, strategy.experience
        x, y = self._sample(exp, strategy.device)
        self._classes = experience_classes(exp)
        self.task_classes[int(exp.task_label)] = self._classes
        self._task_mask = None  # rebuilt on the first step, with this task's classes
        self._query = task_embedding(model, x, self.reference) if self.bank is not None else None
        self._prior = sorted(self.seen_classes - set(self._classes))
        distill = self.distill_lambda > 0 and bool(self._prior)
        self._teacher, self._teacher_state = None, self._capture(model) if distill else None
        self._teacher_logits = self._precompute_teacher(model, strategy.dataloader) if distill else None
        ctx = AllocationContext(self._query, self.bank, self._clock, task=int(exp.task_label),
                                probe=lambda d: self._probe(model, d, x, y))
        decision = self.rule.decide(ctx)
        self._apply(model, decision, touch=True)
        self._early = []
        self._decision = decision
        strategy.optimizer.state.clear()
        self.decisions.append({
            "experience": self._clock, "task": int(exp.task_label), "action": decision.action,
            "entries": decision.entries, "weights": decision.weights, "similarity": decision.similarity,
            "entry_tasks": ([self.bank[e].meta.tasks for e in decision.entries]
                            if decision.action in ("recall", "merge") else []),
        })

    def after_forward(self, strategy, **kwargs):
        """Mask the logits for the criterion (task-incremental heads, per sample so that replayed
        samples keep their own task's classes); ``before_backward`` restores the raw logits."""
        self._raw_logits = strategy.mb_output
        if self.mask:
            if self._task_mask is None or self._task_mask.device != strategy.mb_output.device:
                self._task_mask = task_class_mask(self.task_classes, strategy.mb_output.shape[1],
                                                  strategy.mb_output.device)
            strategy.mb_output = mask_by_task(strategy.mb_output, strategy.mb_task_id, self._task_mask)
        if len(self._early) < self.feedback_steps:
            hits = (strategy.mb_output.detach().argmax(1) == strategy.mb_y).float().mean()
            self._early.append(float(hits))

    def before_backward(self, strategy, **kwargs):
        strategy.mb_output = self._raw_logits  # plugins after us (LwF, ...) see the raw logits
        if self._teacher_state is None:
            return
        loader = strategy.dataloader
        if self._teacher_logits is not None and loader is self._teacher_logits[0]:
            _, prior, log_probs = self._teacher_logits
            loss = kd_from_log_probs(self._raw_logits, log_probs[loader.indices], prior, self.temperature)
        else:  # a loader without sample indices (e.g. replay's): run the teacher on the batch
            with torch.no_grad():
                teacher = self._teacher_model(strategy.model)(strategy.mb_x)
            loss = kd_loss(self._raw_logits, teacher, self._prior, self.temperature)
        strategy.loss = strategy.loss + self.distill_lambda * loss

    def after_training_exp(self, strategy, **kwargs):
        exp = strategy.experience
        self.seen_classes.update(self._classes)
        self._teacher = self._teacher_state = self._teacher_logits = None
        self.rule.feedback(self._early)
        if self._decision.action == "slot":
            self.slots[self._decision.entries[0]] = self._capture(strategy.model)
        if self.bank is not None:
            self._reserve(strategy.model, int(exp.task_label), exp, strategy.device)
        self._clock += 1

    # ------------------------------------------------------------------ evaluation hooks
    def before_eval(self, strategy, **kwargs):
        self.routing = {"hits": 0, "batches": 0}
        self._loaded = None
        if self.bank is not None and self.layers:
            self._active = self._capture(strategy.model)

    def before_eval_exp(self, strategy, **kwargs):
        exp = strategy.experience
        self._classes = experience_classes(exp)
        if self._active is None or self.inference != "oracle":
            return
        entry_id = self.bank.entry_for_task(int(exp.task_label))
        if entry_id is None:
            self._restore(strategy.model, self._active)
        else:
            self._load(strategy.model, [entry_id], [1.0])

    def before_eval_forward(self, strategy, **kwargs):
        if self._active is None or self.inference != "agnostic" or len(self.bank) == 0:
            return
        query = task_embedding(strategy.model, strategy.mb_x, self.reference)
        entry_id, _ = self.bank.recall(query, 1)[0]
        if entry_id != self._loaded:
            self._load(strategy.model, [entry_id], [1.0])
            self._loaded = entry_id
        self.routing["batches"] += 1
        self.routing["hits"] += int(int(strategy.experience.task_label) in self.bank[entry_id].meta.tasks)

    def after_eval_forward(self, strategy, **kwargs):
        if self.inference == "oracle":
            classes = self._classes if self.mask else None
        else:
            classes = self.bank[self._loaded].meta.classes if self._loaded is not None else None
        if classes:
            strategy.mb_output = mask_logits(strategy.mb_output, classes)

    def after_eval(self, strategy, **kwargs):
        if self._active is not None:
            self._restore(strategy.model, self._active)
            self._active = None

    def routing_accuracy(self) -> float | None:
        """Share of test batches routed to an entry that learned their task, in the last eval."""
        r = self.routing
        return r["hits"] / r["batches"] if r["batches"] else None

    # ------------------------------------------------------------------ mechanism
    def _sample(self, experience, device) -> tuple[Tensor, Tensor]:
        x, y = sample_experience(experience, self.embed_samples, self.sampler)
        return x.to(device), y.to(device)

    def _precompute_teacher(self, model: nn.Module, loader) -> tuple[TensorBatchLoader, Tensor, Tensor] | None:
        """The teacher's log-probabilities on the prior classes for every sample of a tensor loader:
        the model as it is before the allocation, run once per experience instead of once per epoch
        (same numbers: it is frozen). Returns (loader, the prior classes as an index tensor, them)."""
        if not isinstance(loader, TensorBatchLoader):
            return None
        with evaluating(model):
            logits = batched(model, loader.x)
        prior = torch.tensor(self._prior, device=logits.device)
        return loader, prior, teacher_log_probs(logits, prior, self.temperature)

    def _teacher_model(self, model: nn.Module) -> nn.Module:
        """The frozen teacher as a module (built on first use): a copy of the model that shares, not
        copies, the frozen backbone weights, holding the adapter captured before the allocation."""
        if self._teacher is None:
            memo = {id(p): p for p in model.parameters() if not p.requires_grad}
            teacher = copy.deepcopy(model, memo).eval().requires_grad_(False)
            self._restore(teacher, self._teacher_state, lora_layers(teacher))
            self._teacher = teacher
        return self._teacher

    def _apply(self, model: nn.Module, decision: Decision, touch: bool) -> None:
        """Set the active adapter as ``decision`` says; ``touch`` records Bank uses."""
        slot = decision.entries[0] if decision.action == "slot" else None
        if decision.action == "fresh" or (slot is not None and slot not in self.slots):
            for layer in self.layers.values():
                layer.reset_adapter(self.generator)
            model.head.reset_parameters()
        elif slot is not None:
            self._restore(model, self.slots[slot])
        elif decision.action in ("recall", "merge"):
            self._load(model, decision.entries, decision.weights)
            for e in decision.entries if touch else ():
                self.bank.touch(e, self._clock)

    def _probe(self, model: nn.Module, decision: Decision, x: Tensor, y: Tensor) -> float:
        """Loss on a batch of the new task if ``decision`` were applied; the model is left unchanged."""
        saved = self._capture(model)
        generator_state = self.generator.get_state()
        rng_state = torch.get_rng_state()
        self._apply(model, decision, touch=False)
        with evaluating(model):
            logits = model(x)
        self._restore(model, saved)
        self.generator.set_state(generator_state)
        torch.set_rng_state(rng_state)
        if self.mask:
            logits = mask_logits(logits, self._classes)
        return float(torch.nn.functional.cross_entropy(logits, y))

    def _load(self, model: nn.Module, entries: list[int], weights: list[float]) -> None:
        """Make the active adapter the weighted sum of the given entries (head rows per class)."""
        stored = [self.bank[e] for e in entries]
        for name, layer in self.layers.items():
            parts = [s.layers[name] for s in stored]  # sum_i w_i U_i S_i Vh_i, stacked on the inner axis
            left = torch.cat([w * p.U.float() * p.S.float() for p, w in zip(parts, weights, strict=True)], 1)
            layer.load_factors(left, torch.cat([p.Vh.float() for p in parts]), self.generator)
        rows: dict[int, list[tuple[float, Tensor, Tensor]]] = {}
        for s, w in zip(stored, weights, strict=True):
            for r, c in enumerate(s.meta.classes):
                rows.setdefault(c, []).append((w, s.head_weight[r], s.head_bias[r]))
        with torch.no_grad():
            for c, parts in rows.items():
                total = sum(w for w, _, _ in parts)
                model.head.weight[c] = sum(w * hw.float() for w, hw, _ in parts).to(model.head.weight) / total
                model.head.bias[c] = sum(w * hb.float() for w, _, hb in parts).to(model.head.bias) / total

    def _reserve(self, model: nn.Module, task: int, experience, device) -> None:
        """Compress the active adapter into the Bank. A recalled entry is updated in place (and
        inherits the recalled entry's tasks and classes, whichever task it was recalled for)."""
        target = self._decision.entries[0] if self._decision.action == "recall" else None
        tasks, classes = [task], list(self._classes)
        if target is not None and target in self.bank:
            old = self.bank[target].meta
            tasks, classes = sorted(set(old.tasks) | {task}), sorted(set(old.classes) | set(classes))
        else:
            target = None
        entry = self._make_entry(model, tasks, classes, experience, device)
        if target is not None:
            entry.meta.uses, entry.meta.created = self.bank[target].meta.uses, self.bank[target].meta.created
        self.bank.reserve(entry, self._clock, entry_id=target)

    def _make_entry(self, model: nn.Module, tasks: list[int], classes: list[int], experience,
                    device) -> BankEntry:
        layers = {n: compress_factors(*layer.delta_factors(), layer.weight_shape, self.energy, self.fixed_rank,
                                      self.store_dtype) for n, layer in self.layers.items()}
        cast = layers[next(iter(layers))].U.dtype
        head_w = model.head.weight[classes].detach().cpu().to(cast).clone()
        head_b = model.head.bias[classes].detach().cpu().to(cast).clone()
        x, y = self._sample(experience, device)
        with evaluating(model):
            logits = model(x)
        if self.mask:
            logits = mask_logits(logits, self._classes)
        accuracy = float((logits.argmax(1) == y).float().mean())
        meta = EntryMeta(tasks=tasks, classes=classes, accuracy=accuracy)
        return BankEntry(self._query, layers, head_w, head_b, meta)

    def _capture(self, model: nn.Module) -> dict[str, Tensor]:
        state = {f"{n}.A": layer.lora_A for n, layer in self.layers.items()}
        state.update({f"{n}.B": layer.lora_B for n, layer in self.layers.items()})
        state.update({"head.weight": model.head.weight, "head.bias": model.head.bias})
        return {k: v.detach().clone() for k, v in state.items()}

    def _restore(self, model: nn.Module, state: dict[str, Tensor],
                 layers: dict[str, LoRALayer] | None = None) -> None:
        with torch.no_grad():
            for n, layer in (layers or self.layers).items():
                layer.lora_A.copy_(state[f"{n}.A"])
                layer.lora_B.copy_(state[f"{n}.B"])
            model.head.weight.copy_(state["head.weight"])
            model.head.bias.copy_(state["head.bias"])
