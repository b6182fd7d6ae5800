"""Continual-learning metrics on an accuracy matrix and on recovery curves (docs/design.md section 6).

``R`` has N + 1 rows: row 0 is the model before any training, row i (1..N) is after training
experience i; column j is distinct task j. ``tasks[i - 1]`` is the task trained by experience i.
Avalanche's own forgetting/BWT metrics key by experience and are wrong on cyclic streams, so every
metric here keys by distinct task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Curve:
    """Accuracy on the trained task at interval 0 (after allocation) and every ``eval_every`` steps."""

    experience: int
    task: int
    recurrence: int
    steps: list[int]
    acc: list[float]


def _check(R: np.ndarray, tasks: list[int]) -> None:
    if R.ndim != 2 or R.shape[0] != len(tasks) + 1:
        raise ValueError(f"accuracy matrix of shape {R.shape} needs {len(tasks) + 1} rows "
                         f"(one before training plus one per experience)")


def _first_training(tasks: list[int]) -> dict[int, int]:
    """Each task's first training experience (1-based, a row index of R)."""
    first: dict[int, int] = {}
    for i, t in enumerate(tasks):
        first.setdefault(t, i + 1)
    return first


def average_accuracy(R: np.ndarray) -> float:
    """ACC = mean_j R[N, j]."""
    return float(np.mean(R[-1]))


def forgetting(R: np.ndarray, tasks: list[int]) -> float:
    """Mean over tasks first trained before N of max_{f_j <= i < N} R[i, j] - R[N, j] (Chaudhry et
    al., 2018): rows before a task was first trained do not count; 0 if no task qualifies."""
    _check(R, tasks)
    first = _first_training(tasks)
    n = len(tasks)
    drops = [R[f:n, j].max() - R[n, j] for j, f in first.items() if f < n]
    return float(np.mean(drops)) if drops else 0.0


def backward_transfer(R: np.ndarray, tasks: list[int]) -> float | None:
    """BWT = mean over tasks last trained before N of R[N, j] - R[l_j, j]; None if no such task."""
    _check(R, tasks)
    n = len(tasks)
    last = {t: i + 1 for i, t in enumerate(tasks)}
    diffs = [R[n, j] - R[lj, j] for j, lj in last.items() if lj < n]
    return float(np.mean(diffs)) if diffs else None


def forward_transfer(R: np.ndarray, tasks: list[int]) -> float | None:
    """FWT (Lopez-Paz & Ranzato, 2017): mean of R[f_j - 1, j] - R[0, j] over tasks first seen at f_j > 1."""
    _check(R, tasks)
    first = _first_training(tasks)
    diffs = [R[f - 1, j] - R[0, j] for j, f in first.items() if f > 1]
    return float(np.mean(diffs)) if diffs else None


def best_before(curves: list[Curve]) -> list[float | None]:
    """A*_j(i): for each curve, the best accuracy on its task over earlier occurrences (None if first)."""
    best: dict[int, float] = {}
    out: list[float | None] = []
    for c in curves:
        out.append(best.get(c.task))
        best[c.task] = max(best.get(c.task, -np.inf), max(c.acc))
    return out


def recovery_steps(curves: list[Curve], tol: float = 0.05) -> list[dict]:
    """Per recurrence: intervals until acc >= (1 - tol) A*; never = len(points), flagged censored."""
    if not 0.0 <= tol < 1.0:
        raise ValueError(f"recovery tolerance must be in [0, 1), got {tol}")
    out = []
    for c, target in zip(curves, best_before(curves), strict=True):
        if target is None:
            continue
        hit = next((k for k, a in enumerate(c.acc) if a >= (1 - tol) * target), None)
        out.append({"experience": c.experience, "task": c.task, "recurrence": c.recurrence,
                    "target": target, "steps": len(c.acc) if hit is None else hit,
                    "censored": hit is None})
    return out


def regret_per_cycle(curves: list[Curve]) -> list[float]:
    """Cumulative regret of each cycle: sum over evaluation points of max(0, A*_j - acc_j(t))."""
    if not curves:
        return []
    per = [0.0] * (max(c.recurrence for c in curves) + 1)
    for c, target in zip(curves, best_before(curves), strict=True):
        if target is not None:
            per[c.recurrence] += float(sum(max(0.0, target - a) for a in c.acc))
    return per
