"""Verdicts on hand-made or stored cells: a claim's measured value, its 95% interval and what it says.

``values`` maps strategy -> {seed: summary}. ``ratio`` is mean(numerator) / mean(denominator) with Fieller's
interval (paired by seed); ``difference`` is numerator - denominator per seed with a t interval and a paired
t-test; ``value`` is the numerator's t interval. Each finite edge of the claim's region is decided on its
own (:mod:`nsr_bench.claims.edges`): every edge passed -> reproduced, one failed -> not reproduced,
otherwise inconclusive; the two sides equal on every seed -> tie; no data, or a claim this suite cannot
test as stated -> untestable here.

A side with several strategies (e.g. "every memoryless rule", "the best comparator") is judged against
each of them, so that the best is never picked on the cells it is judged on: the claim is reproduced only
if it holds against every one at 95% (an intersection-union test, which needs no correction), and refuted
as soon as it fails against one at the Bonferroni-corrected level 1 - 0.05 / K (the union of K tests).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nsr_bench.claims.edges import EdgeTest, decide_region, is_zero, region_outcome
from nsr_bench.claims.protocol import Claim, Side
from nsr_bench.metrics.core import MIN_CYCLES
from nsr_bench.metrics.stats import Interval, holm, paired_test, ratio_interval, t_interval

VERDICTS = ("reproduced", "not reproduced", "tie", "inconclusive", "untestable here")
ALPHA = 0.05

DERIVED = {"abs_bwt": lambda s: None if s.get("bwt") is None else abs(s["bwt"])}
UNDEFINED = {"late_regret_gap": f"it is defined on streams of at least {MIN_CYCLES} cycles"}


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


@dataclass
class Pair:
    """One strategy of the claim's several-strategy side with the other side, on the seeds both have."""

    numerator: str
    denominator: str | None
    x: np.ndarray
    y: np.ndarray | None
    seeds: list[int]

    @property
    def name(self) -> str:
        return self.numerator if self.denominator is None else f"{self.numerator} / {self.denominator}"

    def by_seed(self) -> tuple[dict[int, float], dict[int, float] | None]:
        def keyed(v):
            return None if v is None else dict(zip(self.seeds, v.tolist(), strict=True))

        return keyed(self.x), keyed(self.y)

    def tied(self) -> bool:
        return self.y is not None and bool(np.all(is_zero(self.x - self.y, float(np.max(np.abs(self.x))))))


def per_seed(values: dict[str, dict[int, dict]], strategy: str, name: str) -> dict[int, float]:
    return {seed: v for seed, s in values.get(strategy, {}).items() if (v := metric(s, name)) is not None}


def pairs(claim: Claim, values: dict[str, dict[int, dict]]) -> list[Pair]:
    """Every (numerator, denominator) strategy pair the claim compares that has values on both sides."""
    tops = claim.numerator.strategies
    bottoms = claim.denominator.strategies if claim.denominator else [None]
    out = []
    for top in tops:
        x = per_seed(values, top, claim.metric)
        for bottom in bottoms:
            y = per_seed(values, bottom, claim.metric) if bottom else None
            seeds = sorted(set(x) & set(y)) if y is not None else sorted(x)
            if seeds:
                out.append(Pair(top, bottom, np.array([x[s] for s in seeds]),
                                None if y is None else np.array([y[s] for s in seeds]), seeds))
    return out


def interval(claim: Claim, pair: Pair) -> Interval:
    """The 95% interval of the claim's quantity on one pair (what the table shows)."""
    if claim.kind == "value":
        return t_interval(pair.x.tolist())
    if claim.kind == "difference":
        return t_interval((pair.x - pair.y).tolist())
    return ratio_interval(*pair.by_seed())


def region_text(accept: tuple[float | None, float | None]) -> str:
    low, high = accept
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def ci_text(iv: Interval) -> str:
    def bound(v):
        return "inf" if v == math.inf else f"{v:.3g}"

    return f"[{bound(iv.low)}, {bound(iv.high)}]"


def several(claim: Claim) -> tuple[Side, bool]:
    """The claim's side of several strategies (the numerator when neither has several) and whether it is
    the numerator."""
    on_top = len(claim.numerator.strategies) > 1 or claim.denominator is None
    return (claim.numerator if on_top else claim.denominator), on_top


def member(pair: Pair, on_top: bool) -> str:
    """The pair's strategy of the several-strategy side."""
    return pair.numerator if on_top else pair.denominator


def best(claim: Claim, found: list[Pair]) -> Pair:
    """The pair whose several-strategy side has the best mean (``pick``): the one the table shows when no
    single strategy decides the verdict."""
    side, on_top = several(claim)
    if len(side.strategies) == 1:
        return found[0]
    choose = min if side.pick == "min" else max
    return choose(found, key=lambda p: float(np.mean(p.x if on_top else p.y)))


def power_text(tests: list[EdgeTest], n: int) -> str:
    finite = [t.detectable for t in tests if t.method == "t" and 0 < t.detectable < math.inf]
    if not finite:
        return ""
    return f"; at this spread {n} seeds detect a distance >= {max(finite):.3g} from an edge with 80% power"


def judge(claim: Claim, scenario: str, recurrence: str, values: dict[str, dict[int, dict]]) -> Verdict:
    """The verdict of ``claim`` on one scenario and recurrence mode from per-seed summaries."""
    found = pairs(claim, values)
    if not found:
        return Verdict(claim.id, scenario, recurrence, claim.paper, None, (None, None), 0, "", "untestable here",
                       f"no {claim.metric} of {', '.join(claim.strategies())} on this scenario"
                       + (f" ({UNDEFINED[claim.metric]})" if claim.metric in UNDEFINED else ""))
    k = len(found)
    strict = {p.name: decide_region(claim.kind, p.x, p.y, claim.accept) for p in found}
    corrected = strict if k == 1 else {p.name: decide_region(claim.kind, p.x, p.y, claim.accept, 1 - ALPHA / k)
                                       for p in found}
    inside = {p.name: region_outcome(strict[p.name]) == "inside" for p in found}
    ties = [p for p in found if p.tied()]
    refuted = [p for p in found if p not in ties and region_outcome(corrected[p.name]) == "outside"]
    region = region_text(claim.accept)
    shown = refuted[0] if refuted else ties[0] if ties else best(claim, found)
    iv = interval(claim, shown)
    n = len(shown.seeds)
    if n < 2:
        what, reason = "inconclusive", f"n={n}: no interval (run at least 2 seeds)"
    elif refuted:
        level = f"{1 - ALPHA / k:.2%} (Bonferroni over {k})" if k > 1 else "95%"
        what, reason = "not reproduced", (f"{shown.name}: the {level} interval lies outside the claim's region "
                                          f"{region}")
    elif all(inside.values()):
        against = f" against each of the {k} (intersection-union test)" if k > 1 else ""
        what, reason = "reproduced", f"the 95% interval {ci_text(iv)} lies in the claim's region {region}{against}"
    elif ties and all(p in ties or inside[p.name] for p in found):
        what, reason = "tie", f"{shown.name}: the two sides are equal on every seed (n={n}), neither is ahead"
    else:
        open_ = [p.name for p in found if p not in ties and not inside[p.name]]
        what = "inconclusive"
        reason = (f"the 95% interval {ci_text(iv)} is not decided against the claim's region {region}"
                  + (f" for {', '.join(open_)}" if k > 1 else ""))
    edges = strict[shown.name]
    details = [t.text(n) for t in edges if what != "tie" and (t.method == "sign test" or t.outcome == "on edge")]
    reason += "".join(f"; {d}" for d in details) + power_text(edges, n)
    if claim.tolerance:
        reason += f" ({claim.tolerance})"
    p_value = None
    if claim.kind != "value" and what != "tie":
        test = paired_test(*shown.by_seed())
        p_value = None if math.isnan(test.p_value) else test.p_value
    value = measured(claim, iv, shown)
    ci = (iv.low, iv.high) if value is not None else (None, None)
    verdict = Verdict(claim.id, scenario, recurrence, claim.paper, value, ci, n,
                      comparison(claim, shown, found, p_value, refuted=bool(refuted)), what, reason, p_value)
    if claim.untestable:
        verdict.verdict, verdict.reason = "untestable here", claim.untestable
    return verdict


def measured(claim: Claim, iv: Interval, pair: Pair) -> float | None:
    """The interval's mean; None where it is undefined (no values, or a ratio 0 / 0)."""
    if math.isnan(iv.mean) or (claim.kind == "ratio" and not np.any(pair.x) and not np.any(pair.y)):
        return None
    return iv.mean


def comparison(claim: Claim, shown: Pair, found: list[Pair], p_value: float | None, refuted: bool = False) -> str:
    """What was compared: the quantity, the shown pair (and, for a side of several strategies, which of
    them it is), the interval method and the paired test."""
    p = "" if p_value is None else f"; paired t-test of the two sides: p={p_value:.3g}"
    if claim.kind == "value":
        return f"{claim.metric} of {side_text(claim, shown, found, refuted)} over seeds (t)"
    method = "t interval" if claim.kind == "difference" else "Fieller interval, edges by its contrast"
    top, bottom = shown.numerator, shown.denominator
    if several(claim)[1]:
        top = side_text(claim, shown, found, refuted)
    else:
        bottom = side_text(claim, shown, found, refuted)
    sign = "-" if claim.kind == "difference" else "/"
    return f"{claim.metric}: {top} {sign} {bottom}, paired by seed ({method}{p})"


def side_text(claim: Claim, shown: Pair, found: list[Pair], refuted: bool = False) -> str:
    """The shown strategy of the several-strategy side, and which of them it is (``refuted``: the one
    against which the claim fails, else the best mean)."""
    side, on_top = several(claim)
    name = member(shown, on_top)
    if len(side.strategies) == 1:
        return name
    have = [member(p, on_top) for p in found]
    group = ", ".join(have) if len(have) <= 4 else f"{len(have)} strategies"
    if len(have) == 1:
        return f"{name} (the only one of {', '.join(side.strategies)} with results)"
    if refuted:
        return f"{name} (against which the claim fails; each of {group} judged)"
    which = "lowest" if side.pick == "min" else "highest"
    return f"{name} (the {which} mean of {group}; each judged)"


def adjust_for_multiplicity(verdicts: list[Verdict]) -> None:
    """Holm-adjust the paired tests' p-values over the whole table (a table tests many claims on many
    scenarios) and say so in each comparison. The verdicts themselves rest on the unadjusted 95% intervals;
    the adjusted p says whether a difference between the two sides survives the table's multiplicity."""
    tested = [v for v in verdicts if v.p_value is not None]
    for v, adjusted in zip(tested, holm([v.p_value for v in tested]), strict=True):
        v.p_holm = adjusted
        v.comparison = (v.comparison.removesuffix(")")
                        + f"; Holm-adjusted over the table's {len(tested)} tests: p={adjusted:.3g})")
