"""Verdicts on hand-made or stored cells: a claim's measured value, its 95% interval and what it says.

``values`` maps strategy -> {seed: summary}. A side with several strategies counts the one with the best
mean of the metric (said in the comparison). ``ratio`` is mean(numerator) / mean(denominator) with
Fieller's interval (paired by seed); ``difference`` is numerator - denominator per seed with a t
interval and a paired t-test; ``value`` is the numerator's t interval. The verdict compares the interval
with the claim's region: inside -> reproduced, disjoint -> not reproduced, across its edge (it contains
both the claim and its negation) -> inconclusive; no data, or a claim this suite cannot test as stated ->
untestable here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nsr_bench.claims.protocol import Claim, Side
from nsr_bench.metrics.stats import Interval, holm, paired_test, ratio_interval, t_interval

VERDICTS = ("reproduced", "not reproduced", "inconclusive", "untestable here")


def regret_slope(summary: dict) -> float | None:
    """Least-squares slope of cumulative regret over the cycles (Theorem 1's growth rate)."""
    from nsr_bench.plots.regret import fit_slope

    per = summary.get("regret_per_cycle") or []
    return fit_slope(np.arange(len(per)), np.cumsum(per)) if len(per) > 1 else None


DERIVED = {"regret_slope": regret_slope,
           "abs_bwt": lambda s: None if s.get("bwt") is None else abs(s["bwt"])}


def metric(summary: dict, name: str) -> float | None:
    value = DERIVED[name](summary) if name in DERIVED else summary.get(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


@dataclass
class Verdict:
    claim: str
    scenario: str
    recurrence: str
    paper: float | str
    measured: float | None
    ci: tuple[float | None, float | None]
    n: int
    comparison: str
    verdict: str
    reason: str
    p_value: float | None = None  # two-sided paired test of the two sides (difference and ratio claims)
    p_holm: float | None = None  # ``p_value`` Holm-adjusted over the table's paired tests

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ci"] = [None if v is None or math.isnan(v) else v for v in self.ci]
        return out


def pick(side: Side, values: dict[str, dict[int, dict]], name: str) -> tuple[str, dict[int, float], str] | None:
    """The side's strategy (the best mean of ``name`` among its strategies that have values), its
    per-seed values and a description of the choice; None if no strategy of the side has any."""
    found = {}
    for strategy in side.strategies:
        per_seed = {seed: v for seed, s in values.get(strategy, {}).items() if (v := metric(s, name)) is not None}
        if per_seed:
            found[strategy] = per_seed
    if not found:
        return None
    choose = min if side.pick == "min" else max
    best = choose(found, key=lambda k: float(np.mean(list(found[k].values()))))
    if len(side.strategies) == 1:
        return best, found[best], best
    def group(names):
        return ", ".join(names) if len(names) <= 4 else f"{len(names)} strategies"

    if len(found) == 1:
        return best, found[best], f"{best} (the only one of {group(side.strategies)} with results)"
    which = "lowest" if side.pick == "min" else "highest"
    return best, found[best], f"{best} (the {which} mean of {group(list(found))})"


def region_text(accept: tuple[float | None, float | None]) -> str:
    low, high = accept
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def decide(interval: Interval, accept: tuple[float | None, float | None]) -> tuple[str, str]:
    """(verdict, reason) of ``interval`` against the claim's region ``accept``."""
    low, high = (-math.inf if accept[0] is None else accept[0]), (math.inf if accept[1] is None else accept[1])
    region = region_text(accept)
    if interval.n < 2 or math.isnan(interval.low) or math.isnan(interval.high):
        return "inconclusive", f"n={interval.n}: no interval (run at least 2 seeds)"
    ci = f"[{interval.low:.3g}, {interval.high:.3g}]"
    if low <= interval.low and interval.high <= high:
        return "reproduced", f"the 95% interval {ci} lies in the claim's region {region}"
    if interval.high < low or interval.low > high:
        return "not reproduced", f"the 95% interval {ci} lies outside the claim's region {region}"
    return "inconclusive", f"the 95% interval {ci} crosses the edge of the claim's region {region}"


def judge(claim: Claim, scenario: str, recurrence: str, values: dict[str, dict[int, dict]]) -> Verdict:
    """The verdict of ``claim`` on one scenario and recurrence mode from per-seed summaries."""
    p_value = None

    def verdict(measured, interval, comparison, what, reason):
        ci = (interval.low, interval.high) if interval is not None else (None, None)
        return Verdict(claim.id, scenario, recurrence, claim.paper, measured, ci,
                       interval.n if interval is not None else 0, comparison, what, reason, p_value)

    top = pick(claim.numerator, values, claim.metric)
    bottom = pick(claim.denominator, values, claim.metric) if claim.denominator else None
    lacking = [side for side, got in ((claim.numerator, top), (claim.denominator, bottom))
               if side is not None and got is None]
    if lacking:
        names = ", ".join(s for side in lacking for s in side.strategies)
        return verdict(None, None, "", "untestable here", f"no {claim.metric} of {names} on this scenario")
    _, x, top_text = top
    if claim.kind == "value":
        interval = t_interval(list(x.values()))
        comparison = f"{claim.metric} of {top_text} over seeds (t)"
    else:
        _, y, bottom_text = bottom
        test = paired_test(x, y)
        p_value = None if math.isnan(test.p_value) else test.p_value
        p = "" if p_value is None else f"; {test.test} of the two sides: p={p_value:.3g}"
        if claim.kind == "difference":
            interval = t_interval([x[s] - y[s] for s in sorted(set(x) & set(y))])
            comparison = f"{claim.metric}: {top_text} - {bottom_text}, paired by seed (t interval{p})"
        else:
            interval = ratio_interval(x, y)
            comparison = f"{claim.metric}: {top_text} / {bottom_text}, paired by seed (Fieller interval{p})"
        shared = set(x) & set(y)
        if claim.zero_denominator and shared and all(y[s] == 0 for s in shared):
            return verdict(interval.mean, interval, comparison, "untestable here", claim.zero_denominator)
    measured = None if math.isnan(interval.mean) else interval.mean
    if claim.untestable:
        return verdict(measured, interval, comparison, "untestable here", claim.untestable)
    what, reason = decide(interval, claim.accept)
    if claim.tolerance:
        reason += f" ({claim.tolerance})"
    return verdict(measured, interval, comparison, what, reason)


def adjust_for_multiplicity(verdicts: list[Verdict]) -> None:
    """Holm-adjust the paired tests' p-values over the whole table (a table tests many claims on many
    scenarios) and say so in each comparison. The verdicts themselves rest on the unadjusted 95% intervals;
    the adjusted p says whether a difference between the two sides survives the table's multiplicity."""
    tested = [v for v in verdicts if v.p_value is not None]
    for v, adjusted in zip(tested, holm([v.p_value for v in tested]), strict=True):
        v.p_holm = adjusted
        v.comparison = (v.comparison.removesuffix(")")
                        + f"; Holm-adjusted over the table's {len(tested)} tests: p={adjusted:.3g})")
