"""Distributed execution of cells through Optuna's RDB storage (no home-made queue).

``enqueue`` stores each cell's spec in a study's user attributes and enqueues one trial per cell
(``enqueue_trial(skip_if_exists=True)``: enqueuing twice adds nothing). ``work`` runs on any number
of machines: each ``study.optimize(n_trials=1)`` atomically claims one waiting trial, runs its cell
into the results store (the same database) and reports the cell's accuracy. Workers send
heartbeats; a trial whose worker died goes stale after the grace period, is failed by the next
worker's check and re-enqueued by ``RetryFailedTrialCallback``, so its cell is retried elsewhere.
The results store refuses a second copy of a finished cell, so each cell is stored exactly once.
A heartbeat that cannot reach the database is retried at the next beat (one line says so); a worker
that loses the database stops with one error. A cell this process cannot honour (queued by other code,
data or device: an ``IdentityError``) is left waiting for a compatible worker, once per worker, and the
worker then exits with a summary.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import NoReturn

from nsr_bench.config import CellSpec, SpecError
from nsr_bench.results.store import error_reason

ATTR = "cell:"


def _storage(url: str, heartbeat: int, log=print):
    """Optuna's RDB storage of ``url`` with heartbeats every ``heartbeat`` seconds; a heartbeat that cannot
    reach the database is logged (once per outage) and retried at the next beat, instead of ending
    Optuna's heartbeat thread with a traceback while the cell runs on."""
    import warnings

    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    class Storage(optuna.storages.RDBStorage):
        failing = False

        def record_heartbeat(self, trial_id: int) -> None:
            try:
                super().record_heartbeat(trial_id)
            except SQLAlchemyError as exc:
                if not self.failing:
                    log(f"worker: heartbeat to {url} failed ({error_reason(exc)}); retrying every {heartbeat} s "
                        f"(after {3 * heartbeat} s without one, another worker may take the trial over)")
                self.failing = True
            else:
                self.failing = False

    if "://" not in url:
        raise SpecError(f"--storage {url!r}: give a database URL (e.g. postgresql+psycopg://user@host/db)")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        return Storage(
            url, heartbeat_interval=heartbeat, grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3))
    except Exception as exc:  # SQLAlchemy's or Optuna's error for a database it cannot open or read
        raise SpecError(f"cannot open the storage {url} ({error_reason(exc)}); give a reachable, writable "
                        "database URL with --storage") from None


@dataclass
class WorkDone:
    """What :func:`work` did: how many cells it ran, and {hash: reason} of the cells it left to others."""

    ran: int = 0
    left: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """The line saying which cells were left (empty if none)."""
        if not self.left:
            return ""
        hashes = ", ".join(sorted(self.left))
        return (f"{len(self.left)} cells queued by other code/data/device were left ({hashes}); run the worker "
                "where they were queued, or re-enqueue them from here")


def enqueue(cells: list[CellSpec], url: str, study_name: str, heartbeat: int = 30) -> int:
    """Queue ``cells`` in study ``study_name``; returns how many trials are waiting."""
    import optuna
    from optuna.trial import TrialState

    from nsr_bench.results.store import ResultsStore

    ResultsStore(url)  # create the results tables before any worker starts
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(storage=_storage(url, heartbeat), study_name=study_name,
                                direction="maximize", load_if_exists=True)
    for cell in cells:
        study.set_user_attr(ATTR + cell.hash, cell.model_dump_json())
        study.enqueue_trial({"cell": cell.hash}, user_attrs={"cell": cell.hash}, skip_if_exists=True)
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def work(url: str, study_name: str, results_url: str | None = None, heartbeat: int = 30,
         poll: float = 2.0, log=print) -> WorkDone:
    """Run queued cells until none is waiting (but those this worker left) or running. Losing the database
    is a SpecError: the running trial goes stale and another worker retries its cell."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return _work(url, study_name, results_url, heartbeat, poll, log)
    except SQLAlchemyError as exc:
        raise SpecError(f"lost the storage {url} ({error_reason(exc)}); this worker stopped: a cell it was "
                        "running is retried by another worker once its trial goes stale; start the worker again "
                        "when the database is reachable") from None


def _work(url: str, study_name: str, results_url: str | None, heartbeat: int, poll: float, log) -> WorkDone:
    import optuna
    from optuna.trial import TrialState

    from nsr_bench.identity import IdentityError
    from nsr_bench.results.store import ResultsStore
    from nsr_bench.runner import run_cell

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=_storage(url, heartbeat, log))
    except KeyError:
        raise SpecError(f"no study {study_name!r} in {url}; enqueue cells first with "
                        f"nsr-bench matrix SPEC --storage URL --enqueue") from None
    cells = {k.removeprefix(ATTR): CellSpec.model_validate_json(v)
             for k, v in study.user_attrs.items() if k.startswith(ATTR)}
    store = ResultsStore(results_url or url)
    done = WorkDone()

    def leave(trial, cell: CellSpec) -> NoReturn:
        """End ``trial`` (pruned, with the reason) and queue its cell again for a compatible worker."""
        trial.set_user_attr("left", done.left[cell.hash])
        study.enqueue_trial({"cell": cell.hash}, user_attrs={"cell": cell.hash})
        raise optuna.TrialPruned("left to a compatible worker")

    def objective(trial) -> float:
        queued = trial.user_attrs.get("cell")
        if queued is None:  # another worker took the last waiting trial first
            raise optuna.TrialPruned("no queued cell left")
        cell = cells[trial.suggest_categorical("cell", sorted(cells))]
        if cell.hash in done.left:  # taken again before newer waiting cells
            leave(trial, cell)
        log(f"worker: running {cell.strategy} on {cell.scenario}, seed {cell.seed} ({cell.hash})")
        try:
            summary = run_cell(cell, store)
        except IdentityError as exc:  # raised before anything ran
            done.left[cell.hash] = str(exc)
            log(f"worker: left cell {cell.hash} to a compatible worker: {exc}")
            leave(trial, cell)
        except Exception:
            log(f"worker: cell {cell.hash} failed\n{traceback.format_exc()}")
            raise
        done.ran += 1
        return summary["acc"]

    while True:
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        if any(t.state == TrialState.WAITING and t.user_attrs.get("cell") not in done.left for t in trials):
            study.optimize(objective, n_trials=1, catch=(Exception,))
        elif TrialState.RUNNING in states:
            time.sleep(poll)  # another worker is busy, or a dead one's trial has yet to go stale
        else:
            return done
