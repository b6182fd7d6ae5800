"""Distributed execution of cells through Optuna's RDB storage (no home-made queue).

``enqueue`` stores each cell's spec in a study's user attributes and enqueues one trial per cell
(``enqueue_trial(skip_if_exists=True)``: enqueuing twice adds nothing). ``work`` runs on any number
of machines: each ``study.optimize(n_trials=1)`` atomically claims one waiting trial, runs its cell
into the results store (the same database) and reports the cell's accuracy. Workers send
heartbeats; a trial whose worker died goes stale after the grace period, is failed by the next
worker's check and re-enqueued by ``RetryFailedTrialCallback``, so its cell is retried elsewhere.
The results store refuses a second copy of a finished cell, so each cell is stored exactly once.
"""

from __future__ import annotations

import logging
import time
import traceback

from nsr_bench.config import CellSpec, SpecError

ATTR = "cell:"


def _storage(url: str, heartbeat: int):
    import warnings

    import optuna

    if "://" not in url:
        raise SpecError(f"--storage {url!r}: give a database URL (e.g. postgresql+psycopg://user@host/db)")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        return optuna.storages.RDBStorage(
            url, heartbeat_interval=heartbeat, grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3))
    except Exception as exc:  # SQLAlchemy's or Optuna's error for a database it cannot open or read
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SpecError(f"cannot open the storage {url} ({reason}); give a reachable, writable database "
                        "URL with --storage") from None


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
         poll: float = 2.0, log=print) -> int:
    """Run queued cells until none is waiting or running; returns how many this worker ran."""
    import optuna
    from optuna.trial import TrialState

    from nsr_bench.results.store import ResultsStore
    from nsr_bench.runner import run_cell

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=_storage(url, heartbeat))
    except KeyError:
        raise SpecError(f"no study {study_name!r} in {url}; enqueue cells first with "
                        f"nsr-bench matrix SPEC --storage URL --enqueue") from None
    cells = {k.removeprefix(ATTR): CellSpec.model_validate_json(v)
             for k, v in study.user_attrs.items() if k.startswith(ATTR)}
    store = ResultsStore(results_url or url)
    ran = 0

    def objective(trial) -> float:
        nonlocal ran
        queued = trial.user_attrs.get("cell")
        if queued is None:  # another worker took the last waiting trial first
            raise optuna.TrialPruned("no queued cell left")
        cell = cells[trial.suggest_categorical("cell", sorted(cells))]
        log(f"worker: running {cell.strategy} on {cell.scenario}, seed {cell.seed} ({cell.hash})")
        try:
            summary = run_cell(cell, store)
        except Exception:
            log(f"worker: cell {cell.hash} failed\n{traceback.format_exc()}")
            raise
        ran += 1
        return summary["acc"]

    while True:
        optuna.storages.fail_stale_trials(study)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if TrialState.WAITING in states:
            study.optimize(objective, n_trials=1, catch=(Exception,))
        elif TrialState.RUNNING in states:
            time.sleep(poll)  # another worker is busy, or a dead one's trial has yet to go stale
        else:
            return ran
