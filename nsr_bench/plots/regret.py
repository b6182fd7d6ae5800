"""Theorem 1 of the NSR paper: a memoryless allocation policy pays cumulative regret
Omega(T (M - 1) Delta_switch) over T cycles of M tasks; a Bank-backed policy's stays bounded.

Slopes are fitted per seed and summarised by a t interval over seeds. Delta_switch is estimated on
held-out cells: the memoryless strategies' cells of seeds the figure does not draw (:func:`split_seeds`),
so the line is never fitted to the curves it is compared with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from nsr_bench.metrics.stats import Interval, t_interval


def fit_slope(cycles: np.ndarray, cumulative_regret: np.ndarray) -> float:
    """Least-squares slope of cumulative regret against the cycle index (regret per cycle)."""
    cycles, values = np.asarray(cycles, float), np.asarray(cumulative_regret, float)
    if len(np.unique(cycles)) < 2:
        raise ValueError("fitting a slope needs at least two distinct cycles")
    return float(np.polyfit(cycles, values, 1)[0])


def slope_interval(curves: Iterable[Sequence[float]]) -> Interval:
    """One slope per seed's cumulative-regret curve (cycle 0, 1, ...), and their t interval."""
    return t_interval([fit_slope(np.arange(len(c)), np.asarray(c, float)) for c in curves])


def theorem_line(cycles: np.ndarray, tasks: int, delta_switch: float) -> np.ndarray:
    """T (M - 1) Delta_switch."""
    return np.asarray(cycles, float) * (tasks - 1) * delta_switch


def split_seeds(seeds: Iterable[int]) -> tuple[list[int], list[int]]:
    """(drawn, held out): the largest seed is held out for Delta_switch; one seed alone cannot be split."""
    seeds = sorted(set(seeds))
    if len(seeds) < 2:
        raise ValueError(f"holding a seed out for Delta_switch needs 2+ seeds, the cells have {seeds}")
    return seeds[:-1], seeds[-1:]


def delta_switch(cells, held_out: Sequence[int]) -> tuple[float, int]:
    """Delta_switch and how many cells it rests on: over the memoryless cells (``memory_mb == 0``) of the
    ``held_out`` seeds, the mean regret of every cycle after the first (each pays M - 1 switches) / (M - 1).
    ``cells``: rows with ``seed``, ``memory_mb``, ``regret_per_cycle`` and ``stream_tasks``."""
    per_switch = []
    used = 0
    for _, c in cells.iterrows():
        if c["seed"] not in held_out or c["memory_mb"] is None or float(c["memory_mb"]) != 0:
            continue  # NaN (memory unknown) is not memoryless either
        per = c["regret_per_cycle"]
        per = json.loads(per) if isinstance(per, str) else list(per)
        tasks = len(set(c["stream_tasks"]))
        per_switch += [v / max(tasks - 1, 1) for v in per[1:]]
        used += 1
    if not per_switch:
        raise ValueError(f"no memoryless cell of the held-out seeds {list(held_out)} has two or more cycles")
    return float(np.mean(per_switch)), used
