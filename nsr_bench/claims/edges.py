"""Deciding a claim's region edge by edge, so that every verdict can fail and none rests on a degenerate
interval.

A claim reproduces when its quantity lies in the region ``[low, high]``. Each finite edge ``e`` is one
one-sided question, asked of a per-seed series that is 0 exactly when the quantity sits on the edge:

- ``value``:       ``x_s - e``
- ``difference``:  ``(x_s - y_s) - e``
- ``ratio``:       ``x_s - e * y_s`` (Fieller's contrast: the ratio of means is above ``e`` exactly when
  this contrast's mean is above 0, and it stays defined when the denominator is 0 on every seed)

The series' two-sided ``level`` t interval says on which side of the edge the quantity lies (for a value or
a difference this is the same as comparing the quantity's own interval with the edge; for a ratio, the same
as comparing Fieller's interval). A region with two finite edges is an equivalence test (TOST: both edges
must pass). A series with zero spread (every seed gives the same number) has a t interval of zero width,
which is no evidence; it is decided by the exact sign test instead, which needs no variance (all ``n``
seeds on one side: one-sided p = 0.5^n, so 6 seeds are needed at 95%). A series that is 0 on every seed
sits exactly on the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from nsr_bench.metrics.stats import detectable_effect, sign_test_p, t_interval

Kind = Literal["ratio", "difference", "value"]
Outcome = Literal["inside", "outside", "undecided", "on edge"]
# |v| at or below this (relative to the values' scale) is float noise, not a difference: a flat cumulative
# regret fitted by least squares gives slopes of 1e-16, two equal strategies a ratio of 1 +- 1e-15
ZERO = 1e-9


def is_zero(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.abs(values) <= ZERO * max(1.0, scale)


@dataclass(frozen=True)
class EdgeTest:
    """The answer to "is the quantity on the region's side of ``edge``?" on one per-seed series."""

    edge: float
    lower: bool  # the edge is the region's lower bound (the quantity must lie above it)
    outcome: Outcome
    method: str  # "t" or "sign test"
    p_value: float | None  # the sign test's one-sided p
    detectable: float  # the distance from the edge the t-test detects with 80% power, in the quantity's units

    def text(self, n: int) -> str:
        side = ">=" if self.lower else "<="
        if self.outcome == "on edge":
            return f"{side} {self.edge:g}: exactly on the edge on every seed"
        if self.method == "sign test":
            what = {"inside": "passes", "outside": "fails"}.get(self.outcome, "cannot decide")
            return (f"{side} {self.edge:g}: every seed gives the same value (zero spread, no t interval); "
                    f"the sign test {what} (one-sided p={self.p_value:.3g} on {n} seeds, 6 needed at 95%)")
        return f"{side} {self.edge:g}: {self.outcome}"


def series(kind: Kind, x: np.ndarray, y: np.ndarray | None, edge: float) -> np.ndarray:
    """The per-seed series that is 0 exactly when the quantity of ``kind`` sits on ``edge``."""
    if kind == "value":
        return x - edge
    if kind == "difference":
        return x - y - edge
    return x - edge * y


def decide_edge(kind: Kind, x: np.ndarray, y: np.ndarray | None, edge: float, lower: bool,
                level: float = 0.95) -> EdgeTest:
    """Decide one edge at ``level`` (see the module docstring)."""
    d = series(kind, x, y, edge)
    scale = float(np.max(np.abs(np.concatenate([x, y if y is not None else x]))))
    # the distance from the edge in the quantity's units: a ratio's contrast is (r - e) * mean(y)
    unit = abs(float(np.mean(y))) if kind == "ratio" else 1.0
    power = detectable_effect(d, level) / unit if unit > 0 else math.inf
    want = 1.0 if lower else -1.0
    if np.all(is_zero(d, scale)):
        return EdgeTest(edge, lower, "on edge", "t", None, power)
    if np.all(is_zero(d - d[0], scale)):
        p = sign_test_p(d.tolist())
        decided = p <= (1 - level) / 2
        side = "inside" if want * d[0] > 0 else "outside"
        return EdgeTest(edge, lower, side if decided else "undecided", "sign test", p, power)
    iv = t_interval(d.tolist(), level)
    if want * iv.low > 0 and want * iv.high > 0:
        outcome: Outcome = "inside"
    elif want * iv.low < 0 and want * iv.high < 0:
        outcome = "outside"
    else:
        outcome = "undecided"
    return EdgeTest(edge, lower, outcome, "t", None, power)


def decide_region(kind: Kind, x: np.ndarray, y: np.ndarray | None, accept: tuple[float | None, float | None],
                  level: float = 0.95) -> list[EdgeTest]:
    """Every finite edge of ``accept`` decided at ``level``."""
    low, high = accept
    return [decide_edge(kind, x, y, e, lower, level) for e, lower in ((low, True), (high, False)) if e is not None]


def region_outcome(tests: list[EdgeTest]) -> Outcome:
    """``inside`` when every edge passes, ``outside`` when one fails, ``on edge`` when the quantity sits on
    an edge on every seed and no edge fails, else ``undecided``."""
    outcomes = {t.outcome for t in tests}
    if "outside" in outcomes:
        return "outside"
    if outcomes == {"inside"}:
        return "inside"
    return "on edge" if "on edge" in outcomes else "undecided"
