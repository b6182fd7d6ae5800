"""Candidate decisions of a learned allocator and their features (the policy's state).

At each experience the candidates are: ``fresh``; ``carry`` (from the second experience on); ``recall``
of each of the ``top_k`` Bank entries nearest to the new task's embedding; ``merge`` of those entries
(NSR's :func:`~nsr_bench.nsr.allocation.merge_weights`) when there are at least two. Each candidate is one
row of :data:`FEATURES`, chosen to mean the same on any scenario:

- ``fresh``, ``carry``, ``recall``, ``merge``: the action kind (one-hot);
- ``similarity``: cosine similarity of the new task's embedding to the entry's key (recall), the mean
  over the merged entries (merge), to the previous experience's embedding (carry); 0 for fresh;
- ``similarity_gap``: the candidate's similarity minus the best recall candidate's (0 without one);
- ``age``, ``uses``: experiences since the entry was last used / (experience + 1), and uses / (uses + 1);
- ``log_loss_ratio``: log of the candidate's probe loss (cross-entropy on a batch of the new task's
  training data, before any update) over the fresh candidate's: negative where the candidate already
  fits the new data better than a fresh adapter, whatever the scenario's loss scale.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from nsr_bench.nsr.allocation import AllocationContext, Decision, merge_weights

KINDS = ("fresh", "carry", "recall", "merge")
FEATURES = (*KINDS, "similarity", "similarity_gap", "age", "uses", "log_loss_ratio")


def row(kind: str, similarity: float = 0.0, gap: float = 0.0, age: float = 0.0, uses: float = 0.0,
        log_loss_ratio: float = 0.0) -> Tensor:
    """One candidate's feature row, in the order of :data:`FEATURES`."""
    return torch.tensor([*(float(kind == k) for k in KINDS), similarity, gap, age, uses, log_loss_ratio])


def candidates(ctx: AllocationContext, last_query: Tensor | None, top_k: int) -> tuple[list[Decision], Tensor]:
    """The candidate decisions at ``ctx`` and their feature rows (``last_query``: the previous
    experience's embedding, None at the first experience)."""
    decisions, rows = [Decision("fresh")], [dict(kind="fresh")]
    hits = ctx.bank.recall(ctx.query, top_k) if ctx.bank is not None else []
    best = hits[0][1] if hits else 0.0
    if last_query is not None:
        sim = float(torch.nn.functional.cosine_similarity(ctx.query, last_query, dim=0))
        decisions.append(Decision("carry", similarity=sim))
        rows.append(dict(kind="carry", similarity=sim, gap=sim - best if hits else 0.0))
    for entry_id, sim in hits:
        meta = ctx.bank[entry_id].meta
        age = (ctx.experience - meta.last_use) / (ctx.experience + 1)
        decisions.append(Decision("recall", [entry_id], [1.0], sim))
        rows.append(dict(kind="recall", similarity=sim, gap=sim - best, age=age, uses=meta.uses / (meta.uses + 1)))
    if len(hits) > 1:
        mean = sum(s for _, s in hits) / len(hits)
        decisions.append(Decision("merge", [i for i, _ in hits], merge_weights([s for _, s in hits]), best))
        rows.append(dict(kind="merge", similarity=mean, gap=mean - best))
    if ctx.probe is not None:
        losses = [max(ctx.probe(d), 1e-6) for d in decisions]
        for r, loss in zip(rows, losses, strict=True):
            r["log_loss_ratio"] = math.log(loss / losses[0])
    return decisions, torch.stack([row(**r) for r in rows])
