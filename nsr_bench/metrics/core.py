"""Continual-learning metrics on an accuracy matrix and on recovery curves (docs/design.md section 6).

``R`` has N + 1 rows: row 0 is the model before any training, row i (1..N) is after training
experience i; column j is distinct task j. ``tasks[i - 1]`` is the task trained by experience i.
Avalanche's own forgetting/BWT metrics key by experience and are wrong on cyclic streams, so every
metric here keys by distinct task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Curve:
    """Accuracy on the trained task at interval 0 (after allocation) and every ``eval_every`` steps, on the
    grid every strategy of the scenario shares (:func:`~nsr_bench.metrics.recorder.curve_grid`)."""

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
    the task's target, and ``steps`` = the first interval at which accuracy >= (1 - tol) * target. A
    recurrence that never gets there is right-censored at its horizon, the curve's last interval
    (``steps`` = ``horizon``, ``censored`` True): it was not recovered by then, which is all the curve
    says. ``targets`` is fixed per task and shared by every strategy."""
    if not 0.0 <= tol < 1.0:
        raise ValueError(f"recovery tolerance must be in [0, 1), got {tol}")
    out = []
    for c in curves:
        if c.recurrence == 0:
            continue
        target = targets[c.task]
        hit = next((k for k, a in enumerate(c.acc) if a >= (1 - tol) * target), None)
        horizon = len(c.acc) - 1
        out.append({"experience": c.experience, "task": c.task, "recurrence": c.recurrence, "target": target,
                    "retention": c.acc[0] / target if target > 0 else None,
                    "steps": horizon if hit is None else hit, "censored": hit is None, "horizon": horizon})
    return out


def kaplan_meier(times: Sequence[float], censored: Sequence[bool]) -> list[tuple[float, float]]:
    """The Kaplan-Meier estimate of the survival function S(t) = P(T > t) from right-censored times:
    ``(t, S(t))`` at each distinct event time, S a right-continuous step function equal to 1 before the
    first. At a tie, events come before the censorings (a time censored at t was still at risk at t)."""
    if len(times) != len(censored):
        raise ValueError(f"{len(times)} times but {len(censored)} censoring flags")
    survival, out = 1.0, []
    for t in sorted({t for t, c in zip(times, censored, strict=True) if not c}):
        at_risk = sum(u >= t for u in times)
        events = sum(u == t and not c for u, c in zip(times, censored, strict=True))
        survival *= 1 - events / at_risk
        out.append((t, survival))
    return out


def km_median(km: list[tuple[float, float]]) -> float | None:
    """The smallest time with S(t) <= 0.5; None when the estimate never drops that far (the median lies
    beyond the horizon: censored)."""
    return next((t for t, s in km if s <= 0.5), None)


def restricted_mean(km: list[tuple[float, float]], horizon: float) -> float:
    """The restricted mean survival time: the integral of S from 0 to ``horizon``, i.e. E[min(T, horizon)].
    When every time is censored at one common horizon (and never before), it equals the plain mean of
    the times with each censored one counted as ``horizon``."""
    area, previous, survival = 0.0, 0.0, 1.0
    for t, s in km:
        if t >= horizon:
            break
        area += survival * (t - previous)
        previous, survival = t, s
    return area + survival * (horizon - previous)


def recovery_summary(recovery: list[dict]) -> dict:
    """Censoring-aware summary of :func:`recovery`'s records, in evaluation intervals (the same grid for
    every strategy of a scenario): ``recovery_steps_mean`` = the restricted mean up to the horizon, i.e.
    the mean of ``steps`` with each censored recurrence counted at the horizon. When every recurrence
    shares the horizon (tasks of equal training size), every censoring happens there and that mean *is*
    the Kaplan-Meier restricted mean, computed as a plain mean; otherwise it is the Kaplan-Meier one up to
    the largest horizon (an early-censored recurrence leaves the risk set instead of counting as recovered).
    ``recovery_steps_median`` = the Kaplan-Meier median (None when fewer than half the recurrences recover
    within the horizon) and ``recovery_censored`` = the number never recovered. None / 0 without
    recurrences."""
    if not recovery:
        return {"recovery_steps_mean": None, "recovery_steps_median": None, "recovery_censored": 0}
    steps, censored = [r["steps"] for r in recovery], [r["censored"] for r in recovery]
    horizons = {r["horizon"] for r in recovery}
    km = kaplan_meier(steps, censored)
    mean = float(np.mean(steps)) if len(horizons) == 1 else restricted_mean(km, max(horizons))
    return {"recovery_steps_mean": mean, "recovery_steps_median": km_median(km),
            "recovery_censored": sum(censored)}


def regret_per_cycle(curves: list[Curve], targets: dict[int, float]) -> list[float]:
    """Cumulative regret of each cycle: the sum over every occurrence's evaluation points of
    max(0, target_j - acc_j(t)), against the task's fixed target (the points of the common grid, so every
    strategy sums over as many)."""
    if not curves:
        return []
    per = [0.0] * (max(c.recurrence for c in curves) + 1)
    for c in curves:
        per[c.recurrence] += float(sum(shortfalls(c, targets)))
    return per


def shortfalls(curve: Curve, targets: dict[int, float]) -> list[float]:
    """``max(0, target - acc)`` at each of the curve's points: what regret sums."""
    return [max(0.0, targets[curve.task] - a) for a in curve.acc]


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
    gaps = [g for c in curves if c.recurrence in late for g in shortfalls(c, targets)]
    return float(np.mean(gaps)) if gaps else None


UNDEFINED = {  # metric -> why a stream leaves it undefined (None in the summary)
    "bwt": "no task was last trained before the final experience (a one-task stream, or every task trained "
           "last), so nothing can be compared after later training; forgetting reads 0 for the same reason",
    "bwt_agnostic": "no task was last trained before the final experience (see bwt)",
    "fwt": "no task is first trained after the second experience",
    "retention": "no task recurs (one cycle), so no recurrence starts from a stored or carried adapter",
    "recovery_steps_mean": "no task recurs (one cycle), so there is no recovery to time",
}


def undefined(summary: dict) -> list[str]:
    """One warning per :data:`UNDEFINED` metric that ``summary`` leaves None, saying why."""
    return [f"{metric} is undefined: {why}" for metric, why in UNDEFINED.items()
            if metric in summary and summary[metric] is None]
