"""Continual-learning metrics on an accuracy matrix and on recovery curves (docs/design.md section 6).

``R`` has N + 1 rows: row 0 is the model before any training, row i (1..N) is after training
experience i; column j is distinct task j. ``tasks[i - 1]`` is the task trained by experience i.
Avalanche's own forgetting/BWT metrics key by experience and are wrong on cyclic streams, so every
metric here keys by distinct task.
"""

from __future__ import annotations

import math
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


def _last_training(tasks: list[int]) -> dict[int, int]:
    """Each task's last training experience (1-based, a row index of R)."""
    return {t: i + 1 for i, t in enumerate(tasks)}


def forgetting(R: np.ndarray, tasks: list[int]) -> float:
    """Mean over the tasks of BWT (last trained before N) of max_{f_j <= i < N} R[i, j] - R[N, j]
    (Chaudhry et al., 2018): rows before a task was first trained do not count; 0 if no task qualifies."""
    _check(R, tasks)
    first, last = _first_training(tasks), _last_training(tasks)
    n = len(tasks)
    drops = [R[first[j]:n, j].max() - R[n, j] for j, lj in last.items() if lj < n]
    return float(np.mean(drops)) if drops else 0.0


def backward_transfer(R: np.ndarray, tasks: list[int]) -> float | None:
    """BWT = mean over tasks last trained before N of R[N, j] - R[l_j, j]; None if no such task."""
    _check(R, tasks)
    n = len(tasks)
    diffs = [R[n, j] - R[lj, j] for j, lj in _last_training(tasks).items() if lj < n]
    return float(np.mean(diffs)) if diffs else None


def forward_transfer(R: np.ndarray, tasks: list[int]) -> float | None:
    """FWT (Lopez-Paz & Ranzato, 2017): mean of R[f_j - 1, j] - R[0, j] over tasks first seen at f_j > 1."""
    _check(R, tasks)
    first = _first_training(tasks)
    diffs = [R[f - 1, j] - R[0, j] for j, f in first.items() if f > 1]
    return float(np.mean(diffs)) if diffs else None


def recovery(curves: list[Curve], targets: dict[int, float], tol: float = 0.05) -> list[dict]:
    """Per recurrence (an occurrence after the task's first): ``retention`` = accuracy at interval 0 over
    the task's target, and ``steps`` = intervals until accuracy >= (1 - tol) * target; never = the number
    of points, flagged censored. ``targets`` is fixed per task and shared by every strategy."""
    if not 0.0 <= tol < 1.0:
        raise ValueError(f"recovery tolerance must be in [0, 1), got {tol}")
    out = []
    for c in curves:
        if c.recurrence == 0:
            continue
        target = targets[c.task]
        hit = next((k for k, a in enumerate(c.acc) if a >= (1 - tol) * target), None)
        out.append({"experience": c.experience, "task": c.task, "recurrence": c.recurrence, "target": target,
                    "retention": c.acc[0] / target if target > 0 else None,
                    "steps": len(c.acc) if hit is None else hit, "censored": hit is None})
    return out


def regret_per_cycle(curves: list[Curve], targets: dict[int, float]) -> list[float]:
    """Cumulative regret of each cycle: the sum over every occurrence's evaluation points of
    max(0, target_j - acc_j(t)), against the task's fixed target."""
    if not curves:
        return []
    per = [0.0] * (max(c.recurrence for c in curves) + 1)
    for c in curves:
        per[c.recurrence] += float(sum(max(0.0, targets[c.task] - a) for a in c.acc))
    return per


MIN_CYCLES = 5  # fewer cycles leave too few increments to tell linear growth from a flattening one


def late_regret_gap(curves: list[Curve], targets: dict[int, float], min_cycles: int = MIN_CYCLES) -> float | None:
    """Theorem 1's growth rate as a per-point quantity: the mean shortfall ``max(0, target_j - acc_j(t))``
    over every evaluation point of the later half of the recurrence cycles (cycles 1..C-1; the first cycle
    learns every task and is left out). Linear cumulative regret keeps it bounded away from 0; regret that
    flattens (a policy that remembers) drives it to 0. In accuracy units, so that a margin is readable;
    None on streams of fewer than ``min_cycles`` cycles."""
    cycles = max((c.recurrence for c in curves), default=-1) + 1
    if cycles < min_cycles:
        return None
    late = range(cycles - math.ceil((cycles - 1) / 2), cycles)
    gaps = [max(0.0, targets[c.task] - a) for c in curves if c.recurrence in late for a in c.acc]
    return float(np.mean(gaps)) if gaps else None
