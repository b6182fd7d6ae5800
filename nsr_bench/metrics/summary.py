"""The one summary table every command prints: per (scenario, label), the mean of each metric with its
t interval over seeds and n, and a paired test by seed against a reference label, Holm-adjusted over
every comparison the table makes; :func:`caption` is the line under the table that says so."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nsr_bench.config import SpecError
from nsr_bench.metrics.stats import TESTS, Interval, PairedTest, clipped, holm, paired_test, t_interval

METRICS = ("acc", "acc_agnostic", "bwt", "forgetting", "retention", "recovery_steps_mean", "regret",
           "task_id_acc", "memory_mb")
COMPARED = ("acc", "recovery_steps_mean", "regret")
NUMBER = re.compile(r"[+-]?\.?\d")  # a cell that starts with a number
SHORT = {"recovery_steps_mean": "recovery", "acc_agnostic": "acc agnostic", "task_id_acc": "task-id acc",
         "memory_mb": "memory MB"}

Groups = Mapping[tuple[str, str], Mapping[int, Mapping[str, Any]]]


@dataclass(frozen=True)
class Row:
    """One (scenario, label): an interval per metric; a paired test and its Holm-adjusted p per compared
    metric (absent for the reference itself and where the reference has no cells)."""

    scenario: str
    label: str
    n: int
    intervals: dict[str, Interval]
    tests: dict[str, PairedTest]
    p_holm: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-ready form: ``m``, ``m_low``, ``m_high``, ``m_n``; ``d_m``, ``p_m``, ``p_holm_m``."""
        out: dict[str, Any] = {"scenario": self.scenario, "label": self.label, "n": self.n}
        for m, iv in self.intervals.items():
            out.update({m: iv.mean, f"{m}_low": iv.low, f"{m}_high": iv.high, f"{m}_n": iv.n})
        for m, t in self.tests.items():
            out.update({f"d_{m}": t.mean_difference, f"p_{m}": t.p_value, f"p_holm_{m}": self.p_holm[m],
                        "test": t.test})
        return out


class SeedConflict(SpecError):
    """Two different cells (hashes) for one seed of one table row, e.g. the same experiment computed by two
    code versions in a store read with ``--include-stale``. A row's interval and its tests pair one cell
    per seed, and which of the two is meant is not the table's to guess, so the table is not made."""


def group(items: Iterable[tuple[str, str, int, Mapping[str, Any]]]) -> dict[tuple[str, str], dict[int, Any]]:
    """(scenario, label, seed, summary) items -> the ``groups`` :func:`summarise` reads. One row holds one
    cell per seed: a cell listed twice (the same ``hash``) is kept once, and a second, different cell of a
    seed raises :class:`SeedConflict` naming every such pair, instead of overwriting the first. Callers
    label each experiment apart (:func:`nsr_bench.plots.data.labels`), so what this catches are cells
    that differ only in the code, device or data that computed them."""
    groups: dict[tuple[str, str], dict[int, Any]] = {}
    conflicts = []
    for scenario, label, seed, summary in items:
        row = groups.setdefault((scenario, label), {})
        if seed in row and not _same_cell(row[seed], summary):
            conflicts.append(f"{scenario} / {label}, seed {seed}: cells {row[seed].get('hash')} and "
                             f"{summary.get('hash')}")
        else:
            row[seed] = summary
    if conflicts:
        raise SeedConflict(f"{len(conflicts)} table row seed(s) with two different cells; a row takes one cell "
                           "per seed:\n  " + "\n  ".join(conflicts) + "\ncells of other code: `nsr-bench "
                           "report --stale` lists them, --purge-stale deletes them, or leave out --include-stale")
    return groups


def summarise(groups: Groups, reference: str | None, metrics: Sequence[str] = METRICS,
              compared: Sequence[str] = COMPARED, test: str = "t") -> list[Row]:
    """``groups``: (scenario, label) -> {seed: summary}. Each label is compared with ``reference`` of the
    same scenario, paired by seed; the p-values of the whole table are Holm-adjusted together."""
    if test not in TESTS:
        raise ValueError(f"unknown paired test {test!r}; choose one of {sorted(TESTS)}")
    pending = []
    for (scenario, label), by_seed in groups.items():
        intervals = {m: clipped(t_interval([_number(s.get(m)) for s in by_seed.values()]), m) for m in metrics}
        ref = groups.get((scenario, reference)) if reference is not None else None
        tests = {}
        if ref is not None and label != reference:
            tests = {m: paired_test(_column(by_seed, m), _column(ref, m), test) for m in compared}
        pending.append((scenario, label, len(by_seed), intervals, tests))
    flat = [(i, m) for i, p in enumerate(pending) for m in p[4]]
    adjusted = dict(zip(flat, holm([pending[i][4][m].p_value for i, m in flat]), strict=True))
    return [Row(s, label, n, ivs, tests, {m: adjusted[(i, m)] for m in tests})
            for i, (s, label, n, ivs, tests) in enumerate(pending)]


def comparisons(rows: Sequence[Row]) -> int:
    """How many tests the Holm adjustment covered (those with a p-value)."""
    return sum(not math.isnan(t.p_value) for r in rows for t in r.tests.values())


def caption(rows: Sequence[Row], reference: str | None, compared: Sequence[str] = COMPARED) -> str:
    """The line under a table: n, the interval method, the test and the correction."""
    ns = sorted({r.n for r in rows})
    if not ns:
        return "No finished cells."
    n = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    line = (f"n = {n} seeds per row; mean ± half-width of the 95% t interval over seeds (Student t, n-1 df; "
            "mean [low, high] where the interval is clipped to the metric's possible values)")
    tests = {t.test for r in rows for t in r.tests.values()}
    if tests and not comparisons(rows):
        line += f"; Δ = mean paired difference to {reference} by seed (no test: fewer than 2 paired seeds)"
    elif tests:
        line += (f"; Δ = mean paired difference to {reference} by seed ({', '.join(sorted(tests))}, two-sided), "
                 f"p Holm-adjusted over the {comparisons(rows)} comparisons of this table "
                 f"({', '.join(SHORT.get(m, m) for m in compared)})")
    return line + "."


def table(rows: Sequence[Row], metrics: Sequence[str] = METRICS, compared: Sequence[str] = COMPARED,
          label_header: str = "strategy") -> tuple[list[str], list[list[str]]]:
    """The table as strings: header and body (a Δ column per compared metric when any row has a test)."""
    tested = any(r.tests for r in rows)
    header = ["scenario", label_header, "n", *(SHORT.get(m, m) for m in metrics)]
    header += [f"Δ{SHORT.get(m, m)} (p)" for m in compared] if tested else []
    body = []
    for r in rows:
        line = [r.scenario, r.label, str(r.n), *(_interval(r.intervals[m], m) for m in metrics)]
        line += [_difference(r, m) for m in compared] if tested else []
        body.append(line)
    return header, body


def text(header: list[str], body: list[list[str]]) -> str:
    """Aligned plain text."""
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in [header, *body])


def numeric_columns(body: list[list[str]]) -> list[bool]:
    """Per column, whether its filled cells (not blank, not ``-``) all start with a number, at least one."""
    columns = [[v for v in column if v.strip() not in ("", "-")] for column in zip(*body, strict=True)]
    return [bool(c) and all(NUMBER.match(v) for v in c) for c in columns]


def markdown(header: list[str], body: list[list[str]]) -> str:
    """A Markdown table, numeric columns right-aligned; ``|`` and HTML's ``&<>`` escaped in every cell."""
    align = ["---:" if n else "---" for n in numeric_columns(body) or [False] * len(header)]

    def cell(v: str) -> str:
        return html.escape(v, quote=False).replace("|", "\\|")

    return "\n".join("| " + " | ".join(line) + " |"
                     for line in [[cell(v) for v in header], align, *([cell(v) for v in r] for r in body)])


def _interval(iv: Interval, metric: str) -> str:
    digits = 4 if metric == "memory_mb" else 3
    if iv.n == 0:
        return "-"
    if iv.n < 2:
        return f"{iv.mean:.{digits}f}"
    if not math.isclose(iv.mean - iv.low, iv.high - iv.mean, rel_tol=1e-9, abs_tol=1e-12):  # clipped
        return f"{iv.mean:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]"
    return f"{iv.mean:.{digits}f} ± {(iv.high - iv.low) / 2:.{digits}f}"


def _difference(row: Row, metric: str) -> str:
    t = row.tests.get(metric)
    if t is None or t.n == 0:
        return ""
    p = row.p_holm[metric]
    return f"{t.mean_difference:+.3f}" + ("" if math.isnan(p) else f" (p={p:.3g})")


def _same_cell(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("hash") is not None and a.get("hash") == b.get("hash")


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _column(by_seed: Mapping[int, Mapping[str, Any]], metric: str) -> dict[int, float]:
    return {seed: _number(s.get(metric)) for seed, s in by_seed.items()}
