"""Distillation: the model as it was before an experience teaches the outputs of every prior class.

Hinton et al., "Distilling the Knowledge in a Neural Network", 2015; for continual learning as in
Li & Hoiem, "Learning without Forgetting", TPAMI 2017 (Avalanche's ``LwFPlugin`` has the same shape):
the current data is the transfer set and only prior tasks' classes are matched. It must run before the
allocation plugin's ``before_training_exp``, so that the teacher is the model before allocation.
"""

from __future__ import annotations

import copy

import torch
from avalanche.core import SupervisedPlugin
from torch import Tensor, nn

from nsr_bench.nsr.adapters import ActiveAdapter, State
from nsr_bench.nsr.distill import kd_from_log_probs, kd_loss, teacher_log_probs
from nsr_bench.plugins.reporting import PluginReport, tensor_bytes
from nsr_bench.training.inference import batched, evaluating
from nsr_bench.training.loader import TensorBatchLoader, experience_classes


class Distillation(SupervisedPlugin):
    """Add ``lambda * T^2 KL(teacher || student)`` over the prior classes to the training loss.

    Memory: during an experience the teacher is the adapters and head captured before it (the frozen
    backbone is shared with the live model, never copied), dropped when the experience ends: a transient
    copy, not long-term memory, but state the method must hold while it trains. ``report()`` counts its
    largest size in ``retained_bytes`` (so ``memory_mb`` is the peak a method holds beyond the live
    model, and LwF is not memoryless) and reports it apart as the summary's ``teacher_mb``, so that the
    Bank's own sizes (``bank_mb_*``) and ``memory_mb - teacher_mb`` never include it.
    The precomputed teacher log-probabilities are the teacher's outputs on the current data, a
    per-experience cache that is not counted.

    Args:
        distill_lambda: weight of the distillation loss.
        temperature: softmax temperature of teacher and student.
    """

    def __init__(self, distill_lambda: float = 1.0, temperature: float = 2.0):
        super().__init__()
        self.distill_lambda, self.temperature = distill_lambda, temperature
        self.seen_classes: set[int] = set()
        self._classes: list[int] = []
        self._prior: list[int] = []
        self._teacher_state: State | None = None
        self._teacher: nn.Module | None = None
        self._log_probs: tuple[TensorBatchLoader, Tensor, Tensor] | None = None
        self.teacher_bytes = 0

    def report(self) -> PluginReport:
        return PluginReport(summary={"teacher_mb": self.teacher_bytes / 1e6}, retained_bytes=self.teacher_bytes)

    def before_training_exp(self, strategy, **kwargs):
        model = strategy.model
        self._classes = experience_classes(strategy.experience)
        self._prior = sorted(self.seen_classes - set(self._classes))
        if self.distill_lambda > 0 and self._prior:
            self._teacher_state = ActiveAdapter.of(model).capture()
            self.teacher_bytes = max(self.teacher_bytes, tensor_bytes(self._teacher_state))
            self._log_probs = self._precompute(model, strategy.dataloader)

    def before_backward(self, strategy, **kwargs):
        if self._teacher_state is None:
            return
        loader = strategy.dataloader
        if self._log_probs is not None and loader is self._log_probs[0]:
            _, prior, log_probs = self._log_probs
            loss = kd_from_log_probs(strategy.mb_output, log_probs[loader.indices], prior, self.temperature)
        else:  # a loader without sample indices (e.g. replay's): run the teacher on the batch
            with torch.no_grad():
                teacher = self._teacher_model(strategy.model)(strategy.mb_x)
            loss = kd_loss(strategy.mb_output, teacher, self._prior, self.temperature)
        strategy.loss = strategy.loss + self.distill_lambda * loss

    def after_training_exp(self, strategy, **kwargs):
        self.seen_classes.update(self._classes)
        self._teacher = self._teacher_state = self._log_probs = None

    def _precompute(self, model: nn.Module, loader) -> tuple[TensorBatchLoader, Tensor, Tensor] | None:
        """The teacher's log-probabilities on the prior classes for every sample of a tensor loader: the
        model before allocation, run once per experience instead of once per epoch (it is frozen)."""
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
            ActiveAdapter.of(teacher).restore(self._teacher_state)
            self._teacher = teacher
        return self._teacher
