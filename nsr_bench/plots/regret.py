"""Theorem 1 of the NSR paper: a memoryless allocation policy pays cumulative regret
Omega(T (M - 1) Delta_switch) over T cycles of M tasks; a Bank-backed policy's stays bounded."""

from __future__ import annotations

import numpy as np


def fit_slope(cycles: np.ndarray, cumulative_regret: np.ndarray) -> float:
    """Least-squares slope of cumulative regret against the cycle index (regret per cycle)."""
    cycles, values = np.asarray(cycles, float), np.asarray(cumulative_regret, float)
    if len(np.unique(cycles)) < 2:
        raise ValueError("fitting a slope needs at least two distinct cycles")
    return float(np.polyfit(cycles, values, 1)[0])


def theorem_line(cycles: np.ndarray, tasks: int, delta_switch: float) -> np.ndarray:
    """T (M - 1) Delta_switch."""
    return np.asarray(cycles, float) * (tasks - 1) * delta_switch
