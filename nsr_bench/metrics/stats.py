"""Statistics that can carry a claim: t-based intervals over seeds, paired tests by seed, Holm.

Every function states its method in what it returns, so that a table or figure can print it:
``Interval.method`` ("t") and ``PairedTest.test`` ("paired t-test" or "Wilcoxon signed-rank").
Seeds are the unit of replication: a paired test pairs two strategies' values on the seeds both
have (same split, class-to-task assignment and order), never on unpaired means.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

INTERVAL_METHOD = "t"
TESTS = {"t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank"}


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with a two-sided ``level`` confidence interval by ``method``."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95
    method: str = INTERVAL_METHOD

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean:.3f} (n={self.n})"
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n}, {self.level:.0%} {self.method})"


@functools.lru_cache(maxsize=256)
def t_quantile(q: float, df: int) -> float:
    """Student t quantile (cached: claim tables ask for the same few levels and seed counts many times)."""
    from scipy import stats

    return float(stats.t.ppf(q, df))


RANGES: dict[str, tuple[float, float]] = {
          "acc": (0.0, 1.0), "acc_agnostic": (0.0, 1.0), "acc_val": (0.0, 1.0), "task_id_acc": (0.0, 1.0),
          "bwt": (-1.0, 1.0), "fwt": (-1.0, 1.0), "forgetting": (-1.0, 1.0),
          "recovery_steps_mean": (0.0, math.inf), "regret": (0.0, math.inf), "bank_mb_total": (0.0, math.inf),
          "memory_mb": (0.0, math.inf), "retention": (0.0, math.inf), "recovery_steps_median": (0.0, math.inf),
          "bwt_agnostic": (-1.0, 1.0)}
"""Metric -> the values it can take: an interval drawn or printed never leaves them."""


def clipped(iv: Interval, metric: str) -> Interval:
    """``iv`` with its bounds clipped to ``metric``'s possible values (:data:`RANGES`; others unbounded)."""
    low, high = RANGES.get(metric, (-math.inf, math.inf))
    return replace(iv, low=min(max(iv.low, low), high), high=max(min(iv.high, high), low))


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Student-t interval of the mean; NaN values are dropped; fewer than 2 values give NaN bounds."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, level)
    half = float(t_quantile(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, level)


@dataclass(frozen=True)
class PairedTest:
    """A two-sided paired test of ``candidate - reference`` over ``n`` shared seeds."""

    test: str
    n: int
    mean_difference: float
    p_value: float

    def as_dict(self) -> dict:
        return asdict(self)


def paired_test(candidate: Mapping[int, float], reference: Mapping[int, float],
                test: str = "t") -> PairedTest:
    """Pair ``candidate`` and ``reference`` (seed -> value) on their shared seeds and test the mean
    difference against zero. ``p_value`` is NaN with fewer than 2 pairs or when every difference is
    zero (nothing to test); a constant non-zero difference gives p = 0."""
    from scipy import stats

    if test not in TESTS:
        raise ValueError(f"unknown paired test {test!r}; choose one of {sorted(TESTS)}")
    seeds = sorted(s for s in set(candidate) & set(reference)
                   if not _missing(candidate[s]) and not _missing(reference[s]))
    diff = np.asarray([candidate[s] - reference[s] for s in seeds], dtype=float)
    n = len(diff)
    mean = float(diff.mean()) if n else math.nan
    if n < 2 or not np.any(diff):
        return PairedTest(TESTS[test], n, mean, math.nan)
    if np.ptp(diff) == 0:
        return PairedTest(TESTS[test], n, mean, 0.0)
    result = stats.ttest_1samp(diff, 0.0) if test == "t" else stats.wilcoxon(diff)
    return PairedTest(TESTS[test], n, mean, float(result.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; NaN stays NaN and is not counted)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not _missing(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def ratio_interval(numerator: Mapping[int, float], denominator: Mapping[int, float],
                   level: float = 0.95) -> Interval:
    """Fieller's interval for ``mean(numerator) / mean(denominator)`` over their shared seeds (paired: the
    covariance of the two means counts), restricted to ratios >= 0 (both are non-negative quantities).

    The interval is every ratio r whose contrast ``numerator - r * denominator`` a t-test at ``level``
    does not reject. Where the denominator's own interval reaches 0 the set is unbounded above
    (``high = inf``); a denominator that is 0 on every seed gives ``mean = low = high = inf``. NaN bounds
    with fewer than 2 pairs."""
    seeds = sorted(s for s in set(numerator) & set(denominator)
                   if not _missing(numerator[s]) and not _missing(denominator[s]))
    x = np.asarray([numerator[s] for s in seeds], dtype=float)
    y = np.asarray([denominator[s] for s in seeds], dtype=float)
    n, method = len(seeds), "Fieller"
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level, method)
    mean = float(x.mean() / y.mean()) if y.mean() else math.inf
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, level, method)
    t2 = t_quantile(0.5 + level / 2, n - 1) ** 2
    cov = np.cov(x, y, ddof=1) / n
    # (mx - r my)^2 <= t^2 (vxx - 2 r vxy + r^2 vyy)  <=>  a r^2 + b r + c <= 0
    a = y.mean() ** 2 - t2 * cov[1, 1]
    b = -2 * (x.mean() * y.mean() - t2 * cov[0, 1])
    c = x.mean() ** 2 - t2 * cov[0, 0]
    disc = b * b - 4 * a * c
    if a > 0:  # the denominator is clearly non-zero: a bounded interval
        root = math.sqrt(max(disc, 0.0))
        low, high = sorted(((-b - root) / (2 * a), (-b + root) / (2 * a)))
        return Interval(mean, max(low, 0.0), max(high, 0.0), n, level, method)
    if a == 0 and b == 0:  # a denominator of 0 on every seed
        if c > 0:
            return Interval(math.inf, math.inf, math.inf, n, level, method)
        return Interval(mean, 0.0, math.inf, n, level, method)
    if a == 0 or disc <= 0:
        low = -c / b if a == 0 and b < 0 else 0.0
        return Interval(mean, max(low, 0.0), math.inf, n, level, method)
    r1, r2 = sorted(((-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)))
    # outside the roots: (-inf, r1] and [r2, inf); over r >= 0 its hull
    return Interval(mean, max(r2, 0.0) if r1 < 0 else 0.0, math.inf, n, level, method)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def sign_test_p(values: Sequence[float]) -> float:
    """One-sided exact sign-test p-value that the median of ``values`` lies on the side most of them are
    on (zeros dropped): ``P(Binomial(n, 1/2) >= k)`` with ``k`` the larger of the two counts. It needs no
    variance, so it still decides when every value is the same (where a t interval has zero width): all
    ``n`` on one side gives ``0.5 ** n``, at most 0.025 only from ``n = 6``."""
    from scipy import stats

    x = [v for v in values if not _missing(v) and v != 0]
    if not x:
        return math.nan
    k = max(sum(v > 0 for v in x), sum(v < 0 for v in x))
    return float(stats.binom.sf(k - 1, len(x), 0.5))


def detectable_effect(values: Sequence[float], level: float = 0.95, power: float = 0.8) -> float:
    """The smallest true mean distance from 0 that the two-sided ``level`` t-test on these per-seed
    values detects with probability ``power``, at their observed spread:
    ``(t_{(1+level)/2} + t_{power}) * sd / sqrt(n)`` with n - 1 degrees of freedom (NaN for n < 2)."""
    x = np.asarray([v for v in values if not _missing(v)], dtype=float)
    n = len(x)
    if n < 2:
        return math.nan
    quantiles = t_quantile(0.5 + level / 2, n - 1) + t_quantile(power, n - 1)
    return float(quantiles * x.std(ddof=1) / math.sqrt(n))
