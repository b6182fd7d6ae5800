"""Run one cell into a results store: reuse it if finished, else execute it and store it in one transaction."""

from __future__ import annotations

import traceback
from contextlib import nullcontext

from nsr_bench.config import CellSpec
from nsr_bench.execution import CellPruned, execute_cell
from nsr_bench.identity import check_identity
from nsr_bench.results.store import ResultsStore, StoreError

STATUS = ((CellPruned, "pruned"), (KeyboardInterrupt, "interrupted"))
"""How an attempt ends when it raises (a SIGTERM's or SIGHUP's ``Interrupted`` is a KeyboardInterrupt)."""


def run_cell(cell: CellSpec, store: ResultsStore, force: bool = False, progress=None,
             on_experience=None, logs=None) -> dict:
    """Run ``cell`` unless already finished in ``store``; return its summary.

    The attempt is recorded in the store's ``runs`` table; a failure (or an interrupt) marks it
    failed and stores nothing else. ``progress`` (a :class:`~nsr_bench.progress.Progress`, optional) shows
    the cell's stage; ``on_experience(i, running_acc)`` is called after experience i and may raise
    :class:`CellPruned`; ``logs`` (a :class:`~nsr_bench.logs.TrainingLogs`, optional) logs its training.
    A cell whose identity this process cannot honour (other code, data or device) raises
    :class:`~nsr_bench.identity.IdentityError` before anything runs.
    """
    if store.done(cell.hash) and not force:
        return store.summary(cell.hash)
    check_identity(cell)
    run_id = None
    try:  # an interrupt while the run row is written, the cell runs or its results are stored marks the run
        run_id = store.start_run(cell.hash)
        with logs.evaluation(cell) if logs is not None else nullcontext(()) as evaluation:
            summary, documents, rows, curve_rows, bank = execute_cell(cell, progress, on_experience,
                                                                      evaluation=evaluation)
        store.write(cell, documents, rows, curve_rows, bank, run_id=run_id, force=force)
    except StoreError:  # a store that cannot write cannot record the failure either
        raise
    except BaseException as exc:
        status = next((name for kind, name in STATUS if issubclass(type(exc), kind)), "failed")
        if run_id is not None:
            store.fail_run(run_id, "".join(traceback.format_exception(exc)), status)
        raise
    return summary
