"""Allocation rules: what the active adapter starts from at each experience (NSR step 4).

A rule sees the new task's embedding and the Bank (``None`` when the Bank is off) and returns a
:class:`Decision`: ``fresh`` (zero update; with one entry, the trained adapter then replaces that
entry), ``carry`` (keep the active adapter), ``recall`` (load
one entry), ``merge`` (similarity-weighted combination of entries) or ``slot`` (load and later
overwrite one of a fixed number of adapter slots). Only oracle references read ``ctx.task``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from nsr_bench.nsr.bank import TaskKnowledgeBank

ACTIONS = ("fresh", "carry", "recall", "merge", "slot")
MERGE_SHARPNESS = 5.0
"""Inverse temperature of :func:`merge_weights`: a similarity gap of 0.2 is a weight ratio of e."""


def merge_weights(similarities: list[float], sharpness: float = MERGE_SHARPNESS) -> list[float]:
    """Convex merge weights of entries with these cosine similarities: ``softmax(sharpness * s)``.

    A merge is a convex combination of adapters, so its weights must be non-negative and sum to 1, and a
    more similar entry must weigh more. Normalising the similarities by their sum does neither once some
    are negative (``(0.2, -0.5)`` gives ``(-0.67, 1.67)``: the dissimilar entry dominates, with the other
    subtracted) and divides by zero when they sum to 0. A softmax is defined for any similarities in
    [-1, 1], strictly positive (every merged entry contributes, so each of its head rows has weight),
    increasing in the similarity, invariant to a common shift (only the gaps between entries matter, not
    where ``tau_related`` sits), and uniform when the similarities are equal. ``sharpness`` sets how fast
    weight goes to the most similar entry: at 5, a gap of 0.2 is a factor of e, and the whole range
    [-1, 1] a factor of e^10, so near-ties share and clearly less similar entries add little. The learned
    allocator's merge candidate (:mod:`nsr_bench.rl.features`) uses the same weights.
    """
    return torch.softmax(torch.tensor(similarities) * sharpness, 0).tolist()


@dataclass
class Decision:
    action: str
    entries: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    similarity: float | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown allocation action {self.action!r}; choose one of {ACTIONS}")


@dataclass
class AllocationContext:
    """What a rule may look at when an experience starts (``query`` is None when the Bank is off).

    ``probe(decision)``: the loss of the new task's training batch if ``decision`` were applied.
    ``trial(decision)``: its early recovery curve (held-out training accuracy before and after each of
    the rule's ``trial_steps`` updates), given only to rules that ask for it (offline training).
    """

    query: Tensor | None
    bank: TaskKnowledgeBank | None
    experience: int
    task: int | None = None
    probe: Callable[[Decision], float] | None = None
    trial: Callable[[Decision], list[float]] | None = None


class AllocationRule(ABC):
    """Decides the active adapter at the start of an experience."""

    uses_bank: bool = False
    trial_steps: int = 0  # > 0: the context carries trials of that many updates (costly; for training)

    @abstractmethod
    def decide(self, ctx: AllocationContext) -> Decision:
        """Return the decision for the experience described by ``ctx``."""

    def feedback(self, early_accuracy: list[float]) -> None:
        """Training-batch accuracies of the first updates after the last decision; rules that
        learn from it override this (the fixed rules ignore it)."""
        return None


class OracleTaskRule(AllocationRule):
    """A reference rule keyed by the oracle task id: it finds the entry of the experience's own task."""

    uses_bank = True

    def own_entry(self, ctx: AllocationContext) -> int | None:
        if ctx.task is None:
            raise ValueError(f"{type(self).__name__} is keyed by oracle task ids; it needs ctx.task")
        return ctx.bank.entry_for_task(ctx.task)


class SimilarityRule(AllocationRule):
    """NSR's rule: recall the nearest entry if similar enough, merge related ones, else fresh.

    Args:
        tau_recall: cosine similarity at or above which the nearest entry is loaded as is.
        tau_related: similarity at or above which entries join a similarity-weighted warm start
            (weights: :func:`merge_weights`).
        merge_k: at most this many related entries are merged.
    """

    uses_bank = True

    def __init__(self, tau_recall: float = 0.9, tau_related: float = 0.5, merge_k: int = 3):
        if not -1.0 <= tau_related <= tau_recall <= 1.0:
            raise ValueError(f"need -1 <= tau_related <= tau_recall <= 1, got {tau_related}, {tau_recall}")
        self.tau_recall = tau_recall
        self.tau_related = tau_related
        self.merge_k = merge_k

    def decide(self, ctx: AllocationContext) -> Decision:
        if ctx.bank is None or len(ctx.bank) == 0:
            return Decision("fresh")
        hits = ctx.bank.recall(ctx.query, self.merge_k)
        best_id, best_sim = hits[0]
        if best_sim >= self.tau_recall:
            return Decision("recall", [best_id], [1.0], best_sim)
        related = [(i, s) for i, s in hits if s >= self.tau_related]
        if not related:
            return Decision("fresh", similarity=best_sim)
        return Decision("merge", [i for i, _ in related], merge_weights([s for _, s in related]), best_sim)
