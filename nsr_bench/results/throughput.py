"""Cells per hour a machine did, measured from the store's ``runs`` table.

Per machine (the host part of a run's ``worker``) and scenario: the cells that finished (``done``), the
busy time (the union of their run intervals, so parallel workers are not double-counted and idle gaps
between invocations are not counted), cells per busy hour, the most runs that overlapped (the
parallelism achieved) and the mean wall time of one cell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

HEADER = ["machine", "scenario", "cells", "busy h", "cells/h", "parallel", "cell s (mean)"]


def busy_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of the ``(start, end)`` intervals."""
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total, end = total + (b - a), b
        elif b > end:
            total, end = total + (b - end), b
    return total


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at the same instant as a start does not overlap)."""
    peak = level = 0
    for _, step in sorted(e for a, b in intervals for e in ((a, 1), (b, -1))):  # ends sort before starts
        level += step
        peak = max(peak, level)
    return peak


def throughput(runs: list[dict], scenario_of: dict[str, str]) -> list[dict]:
    """One dict per (machine, scenario) from the ``runs`` rows; ``scenario_of`` maps a cell hash to its
    scenario (runs of cells no longer stored are skipped)."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        scenario = scenario_of.get(run["hash"])
        if run["status"] != "done" or run["finished_at"] is None or scenario is None:
            continue
        groups[run["worker"].rpartition(":")[0] or run["worker"], scenario].append(
            (run["started_at"], run["finished_at"]))
    rows = []
    for (machine, scenario), spans in sorted(groups.items()):
        busy = busy_seconds(spans)
        rows.append({"machine": machine, "scenario": scenario, "cells": len(spans), "busy_h": busy / 3600,
                     "cells_per_h": len(spans) / (busy / 3600) if busy > 0 else None,
                     "parallel": peak_overlap(spans),
                     "cell_s": sum(b - a for a, b in spans) / len(spans)})
    return rows


def table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """``rows`` as (header, text rows) for :mod:`nsr_bench.metrics.summary`'s renderers."""
    return HEADER, [[r["machine"], r["scenario"], str(r["cells"]), f"{r['busy_h']:.2f}",
                     "-" if r["cells_per_h"] is None else f"{r['cells_per_h']:.0f}", str(r["parallel"]),
                     f"{r['cell_s']:.1f}"] for r in rows]


def store_throughput(store) -> list[dict]:
    """:func:`throughput` of everything in ``store``."""
    return throughput(store.table("runs"), {c["hash"]: c["scenario"] for c in store.table("cells")})
