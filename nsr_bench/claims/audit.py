"""``nsr-bench claims``: run (or reuse) the cells every claim needs, judge each claim, store the verdicts."""

from __future__ import annotations

import math

from nsr_bench.claims.protocol import Protocol, Row, plan
from nsr_bench.claims.verdict import Verdict, adjust_for_multiplicity, judge
from nsr_bench.memo import code_digest

HEADER = ("claim", "scenario", "recurrence", "paper", "measured", "95% CI", "n", "verdict", "reason")


def audit(protocol: Protocol, store, test: bool = False, device: str = "cpu", jobs: int = 1,
          progress=None, scenarios: list[str] | None = None,
          recurrences: list[str] | None = None, logs=None) -> tuple[list[Verdict], dict[str, str]]:
    """Every row's verdict (on the ``scenarios`` and ``recurrences`` named, default all; cells the store holds
    are reused, the others run with ``jobs`` processes, shown by ``progress`` and logged by ``logs``, see
    :func:`~nsr_bench.matrix.run_matrix`) and {hash: error} of the cells that failed; the verdicts are
    written to the store's ``claims`` table."""
    from nsr_bench.matrix import run_matrix, worker_threads

    rows = plan(protocol, test, device, worker_threads(jobs), scenarios, recurrences)
    unique = list({c.spec.hash: c for row in rows for c in row.cells}.values())
    _, _, failed = run_matrix(unique, store, jobs, progress, logs)
    verdicts = [judge_row(row, store, failed) for row in rows]
    adjust_for_multiplicity(verdicts)
    store.write_claims(protocol.name + (" (test)" if test else ""), [v.as_dict() for v in verdicts],
                       code_digest(__name__))
    return verdicts, failed


def judge_row(row: Row, store, failed: dict[str, str]) -> Verdict:
    """The verdict of one row from the summaries of its finished cells."""
    if row.missing:
        return Verdict(row.claim.id, row.scenario, row.recurrence, row.claim.paper, None, (None, None), 0, "",
                       "untestable here", f"data missing: {row.missing}")
    values: dict[str, dict[int, dict]] = {}
    for cell in row.cells:
        if cell.spec.hash not in failed:
            values.setdefault(cell.combo["strategy"], {})[cell.spec.seed] = store.summary(cell.spec.hash)
    verdict = judge(row.claim, row.scenario, row.recurrence, values)
    if row.skipped and verdict.verdict == "untestable here":
        verdict.reason += f" (skipped {'; '.join(row.skipped)})"
    return verdict


def number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "inf" if value == math.inf else f"{value:.3g}"


def interval_text(ci) -> str:
    low, high = ci
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return "-"
    return f"[{number(low)}, {number(math.inf if high is None else high)}]"


def table_rows(verdicts: list[dict]) -> list[list[str]]:
    """The verdict table's cells as text (``verdicts`` as :meth:`Verdict.as_dict` or stored rows)."""
    return [[v["claim"], v["scenario"], v["recurrence"], str(v["paper"]), number(v["measured"]),
             interval_text(v["ci"] if "ci" in v else (v["low"], v["high"])), str(v["n"]), v["verdict"],
             v["reason"] + (f"; {v['comparison']}" if v.get("comparison") else "")] for v in verdicts]


def format_table(verdicts: list[dict]) -> str:
    """A plain-text table: one line per verdict, the reason and comparison last."""
    from nsr_bench.metrics.summary import text

    return text(list(HEADER), table_rows(verdicts))
