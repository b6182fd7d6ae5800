"""The ablation matrix: a factorial over strategy parameters x scenarios x seeds, run resumably.

A matrix spec (YAML, see ``matrices/``) names a base ``strategy`` whose parameters the
``factors`` override (a ``strategy`` factor varies the method itself, e.g. the allocation rule), the
``scenarios`` and ``seeds``, and a ``reference`` combination for paired comparisons. Expansion
resolves every cell through the same validation as ``nsr-bench run``; incompatible combinations
(e.g. the similarity rule with the Bank off) are skipped with the validation message as the reason.
Finished cells (by hash: spec and identity, threads included) are never rerun.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from nsr_bench.config import CellSpec, SpecError, Strict, format_selector, load_yaml, validate
from nsr_bench.metrics.summary import Row, caption, group, summarise, table, text
from nsr_bench.resolution import resolve_cell
from nsr_bench.runner import run_cell

METRICS = ("acc", "acc_agnostic", "bwt", "forgetting", "recovery_steps_mean", "regret")
MAX_CELLS = 10_000  # cells one matrix may expand to (combinations x scenarios x seeds)


class MatrixSpec(Strict):
    name: str
    description: str = ""
    strategy: str = Field("", description="base strategy spec whose parameters the factors override "
                          "(optional when a `strategy` factor names the methods)")
    scenarios: list[str] = Field(min_length=1)
    seeds: list[int] = Field([0], min_length=1)
    factors: dict[str, list[Any]] = Field(description="parameter -> values; the matrix is their product")
    design: Literal["factorial", "one_at_a_time"] = Field(
        "factorial", description="every combination of the factors, or the reference and each factor's other "
        "values with the rest held at the reference")
    reference: dict[str, Any] = Field({}, description="the combination others are compared with")
    test: bool = Field(False, description="use every spec's tiny test configuration")

    @model_validator(mode="after")
    def _reference_covers_factors(self):
        missing = sorted(set(self.factors) - set(self.reference))
        if self.design == "one_at_a_time" and missing:
            raise ValueError(f"a one_at_a_time design varies factors around the reference; give the reference "
                             f"a value for {missing}")
        return self

    def size(self) -> tuple[int, int]:
        """(combinations of the design, cells: combinations x scenarios x seeds), counted without expanding."""
        if self.design == "factorial":
            combos = math.prod(len(v) for v in self.factors.values())
        else:
            combos = 1 + sum(v != self.reference[k] for k, values in self.factors.items() for v in values)
        return combos, combos * len(self.scenarios) * len(self.seeds)

    def combinations(self) -> list[dict[str, Any]]:
        """The factor combinations of the design, in order."""
        keys = list(self.factors)
        if self.design == "factorial":
            return [dict(zip(keys, v, strict=True)) for v in itertools.product(*self.factors.values())]
        base = {k: self.reference[k] for k in keys}
        return [base] + [{**base, k: v} for k in keys for v in self.factors[k] if v != base[k]]


@dataclass
class Cell:
    """One expanded cell: its label (the factor combination), resolved spec and scenario selector (the
    matrix's ``scenarios`` entry: two entries of one scenario are two rows of the summary)."""

    label: str
    combo: dict[str, Any]
    spec: CellSpec
    scenario: str


def label_of(combo: dict[str, Any]) -> str:
    return ",".join(f"{k}={json.dumps(v)}" for k, v in combo.items())


def load_matrix(path: str | Path) -> MatrixSpec:
    """The matrix spec in file ``path``, or the shipped matrix of that name (``tiny``)."""
    from nsr_bench.registry import spec_file

    path = spec_file("matrices", path)
    return checked_size(validate(MatrixSpec, load_yaml(path), str(path)), str(path))


def with_options(spec: MatrixSpec, test: bool, seeds: list[int] | None) -> MatrixSpec:
    """``spec`` at every spec's test configuration (``test``, or the spec's own ``test``) and on ``seeds``
    instead of its own (when given), size-checked like a spec file."""
    changed = spec.model_copy(update={"test": test or spec.test, "seeds": seeds or spec.seeds})
    return checked_size(changed, f"matrix {spec.name!r} on {len(changed.seeds)} seeds") if seeds else changed


def checked_size(spec: MatrixSpec, where: str) -> MatrixSpec:
    """``spec``, or a SpecError if it holds more than :data:`MAX_CELLS` cells."""
    combos, cells = spec.size()
    if cells > MAX_CELLS:
        raise SpecError(f"{where}: {combos} combinations x {len(spec.scenarios)} scenarios x {len(spec.seeds)} "
                        f"seeds = {cells} cells, more than the {MAX_CELLS} one matrix may hold; split it into "
                        "smaller matrices")
    return spec


def check_expanded(spec: MatrixSpec, cells: list[Cell], skipped: list[tuple[str, str]]) -> None:
    """A SpecError when nothing is left to run, or when the reference names no combination that runs."""
    if not cells:
        raise SpecError(f"matrix {spec.name!r}: every combination was skipped ({len(skipped)}), nothing to run")
    if spec.reference:
        unknown = sorted(set(spec.reference) - set(spec.factors))
        labels = {c.label for c in cells}
        if unknown or label_of({k: spec.reference.get(k) for k in spec.factors}) not in labels:
            raise SpecError(f"matrix {spec.name!r}: reference {spec.reference} matches no combination that runs;"
                            f" give one value of each factor ({', '.join(spec.factors)}) of a run combination")


def worker_threads(jobs: int) -> int | None:
    """Torch threads per cell with ``jobs`` local processes (None: this process's count)."""
    import multiprocessing

    return max(1, (multiprocessing.cpu_count() or 1) // jobs) if jobs > 1 else None


def expand(spec: MatrixSpec, device: str = "cpu", threads: int | None = None, tuned: bool = True
           ) -> tuple[list[Cell], list[tuple[str, str]]]:
    """All valid cells (run with ``threads`` torch threads, see :func:`worker_threads`; with the specs'
    tuned settings unless ``tuned`` is False), and (label, reason) for each skipped combination."""
    cells, skipped = [], []
    for combo in spec.combinations():
        params = {k: v for k, v in combo.items() if k != "strategy"}
        selector = format_selector(combo.get("strategy", spec.strategy), params)
        for scenario in spec.scenarios:
            try:
                resolved = [resolve_cell(scenario, selector, seed, device, spec.test, threads, tuned)
                            for seed in spec.seeds]
            except SpecError as exc:
                reason = str(exc).splitlines()[-1].strip()
                if (label_of(combo), reason) not in skipped:
                    skipped.append((label_of(combo), reason))
                continue
            cells += [Cell(label_of(combo), combo, c, scenario) for c in resolved]
    return cells, skipped


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the parent process dies (even by SIGKILL), so that a killed
    ``matrix -j N`` leaves no orphans running cells. Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``.
    The worker ignores Ctrl-C (SIGINT, sent to the whole terminal's process group): the parent stops it
    with SIGTERM (see :func:`stop_pool`)."""
    import ctypes
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _run_one(cell: CellSpec, url: str, logs) -> dict:
    from nsr_bench.interrupts import exit_status, interrupting
    from nsr_bench.results.store import ResultsStore

    try:
        with interrupting():  # a SIGTERM marks the running cell interrupted; an idle worker just ends
            return run_cell(cell, ResultsStore(url), logs=logs)  # with the cell's own thread count
    except KeyboardInterrupt as exc:  # the run is marked: end here rather than take a queued cell
        os._exit(exit_status(exc))


def stop_pool(pool: ProcessPoolExecutor, grace: float = 20.0) -> None:
    """Cancel the queued cells and end the workers now: SIGTERM, so that each running cell's run is marked
    ``interrupted``; a worker still alive after ``grace`` seconds is killed (its run becomes
    ``abandoned`` when the store is next opened)."""
    import time

    workers = list(pool._processes.values())  # the executor has no public way to end its workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    deadline = time.monotonic() + grace
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def run_matrix(cells: list[Cell], store, jobs: int = 1, progress=None, logs=None
               ) -> tuple[list[Cell], list[dict], dict]:
    """Run the unfinished cells (``jobs`` local processes, each cell with the thread count it was
    expanded with: pass ``threads=worker_threads(jobs)`` to :func:`expand`). A failing cell is recorded in the
    store's ``runs`` table and does not stop the others. ``progress`` (a :class:`~nsr_bench.progress.Progress`)
    counts the cells it computes, not the reused ones, and adds every cell to its counts; ``logs`` (a
    :class:`~nsr_bench.logs.TrainingLogs`) logs the computed cells' training. Returns the finished cells, their
    summaries and {hash: error} of the cells that failed."""
    pending = [c.spec for c in cells if not store.done(c.spec.hash)]
    failed: dict[str, str] = {}
    if progress is not None:  # the bar counts the cells to compute, so its rate and ETA are theirs
        progress.plan(len(pending))
        progress.count(reused=len(cells) - len(pending))

    def finished_one(cell: CellSpec, exc: BaseException | None) -> None:
        if exc is not None:
            failed[cell.hash] = f"{type(exc).__name__}: {exc}"
        if progress is not None:
            progress.advance()
            progress.count(computed=exc is None, failed=exc is not None)

    if jobs <= 1:
        for cell in pending:
            error = None
            try:
                run_cell(cell, store, progress=progress, logs=logs)
            except Exception as exc:
                error = exc
            finished_one(cell, error)
    else:
        import multiprocessing

        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            futures = {pool.submit(_run_one, cell, store.url, logs): cell for cell in pending}
            for future in as_completed(futures):
                finished_one(futures[future], future.exception())
        except BaseException:  # Ctrl-C or SIGTERM of the parent: stop now, not after the queued cells
            stop_pool(pool)
            raise
        pool.shutdown()
    finished = [c for c in cells if c.spec.hash not in failed]
    return finished, [store.summary(c.spec.hash) for c in finished], failed


def summary_table(cells: list[Cell], summaries: list[dict], reference: dict[str, Any]) -> list[Row]:
    """Per (scenario, label): t intervals over seeds and paired tests by seed against the reference
    combination (Holm-adjusted over the table), see :mod:`nsr_bench.metrics.summary`."""
    ref_label = label_of({k: reference[k] for k in (cells[0].combo if cells else {}) if k in reference})
    groups = group((c.scenario, c.label, c.spec.seed, s) for c, s in zip(cells, summaries, strict=True))
    return summarise(groups, ref_label if reference else None, METRICS)


def format_summary(rows: list[Row], reference: dict[str, Any]) -> str:
    """The summary as aligned text with the caption line under it."""
    return text(*table(rows, METRICS, label_header="cell")) + "\n" + caption(rows, label_of(reference))
