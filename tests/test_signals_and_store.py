"""Signals end commands like Ctrl-C; stores that are read-only, missing, foreign or tampered with are read
or refused with one clear error; workers survive a lost database and leave cells they cannot honour."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nsr_bench.cli import main
from nsr_bench.results import store as store_module
from nsr_bench.results.store import ResultsStore, StoreError
from tests.test_hardening import alive, child_pids

CLI = [sys.executable, "-m", "nsr_bench.cli"]


def run_statuses(results: Path) -> list[str]:
    """The runs' statuses, read without opening (so without changing) the store; [] before it exists."""
    db = results / "nsr.db"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [s for (s,) in conn.execute("SELECT status FROM runs ORDER BY id")]
    except sqlite3.OperationalError:  # the tables are being created
        return []


def start_until_running(cmd: list[str], results: Path, running: int = 1, limit: float = 240
                        ) -> subprocess.Popen:
    """Start ``cmd`` and return once ``running`` runs are ``running`` in the store ``results``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + limit
    while run_statuses(results).count("running") < running:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"no {running} running runs: {proc.communicate()[1][-2000:]}")
        time.sleep(0.2)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c(tmp_path, sig):
    proc = start_until_running([*CLI, "run", "--test", "--strategy", "carry", "--seeds", "0-3",
                                "--results", str(tmp_path)], tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err[-2000:]
    assert "interrupted; finished cells are kept" in err and "Traceback" not in err
    statuses = run_statuses(tmp_path)
    assert "interrupted" in statuses and "running" not in statuses


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_a_parallel_matrix_parent_stops_it_and_its_workers_at_once(tmp_path, sig):
    proc = start_until_running([*CLI, "matrix", "tiny", "-j", "2", "--results", str(tmp_path)], tmp_path, 2)
    workers = child_pids(proc.pid)
    assert len(workers) >= 2
    proc.send_signal(sig)  # to the parent alone, not to its process group
    started = time.time()
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert time.time() - started < 30
    assert proc.returncode == 128 + sig, err[-2000:]
    assert "finished cells are kept" in err
    deadline = time.time() + 5  # the workers, and the resource tracker, end with the parent
    while any(alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if alive(p)], "matrix children left running"
    statuses = run_statuses(tmp_path)
    assert statuses.count("interrupted") == 2 and "running" not in statuses, statuses


@pytest.mark.slow
def test_ctrl_c_during_a_sweep_is_a_clean_interrupt(tmp_path):
    proc = start_until_running([*CLI, "sweep", "--strategy", "carry", "--trials", "3", "--test", "--pruner",
                                "none", "--results", str(tmp_path)], tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "finished cells are kept" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    statuses = run_statuses(tmp_path)
    assert "interrupted" in statuses and "running" not in statuses


# ------------------------------------------------------------------ reading stores
def error_line(capsys) -> str:
    """The one error line (the last line of stderr), with no traceback before it."""
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("nsr-bench: error: ") and "Traceback" not in err, err
    return line


def add_cell(store, cell_hash: str, summary: str | None = None, manifest: str | None = None) -> None:
    """A made-up finished cell (nothing trained): its documents name it unless given."""
    doc = json.dumps({"hash": cell_hash, "acc": 0.5})
    with store.engine.begin() as conn:
        conn.execute(store.schema.cells.insert().values(
            hash=cell_hash, scenario="digits_cyclic", strategy="carry", seed=0,
            spec=json.dumps({"identity": None, "strategy_params": {}}), manifest=manifest or doc,
            summary=summary or doc, finished_at=time.time()))


def closed(store) -> None:
    """Close ``store`` and fold its WAL into the file, as a finished command leaves it."""
    store.engine.dispose()
    db = Path(store.url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_a_store_this_process_cannot_write_is_read_read_only(tmp_path, monkeypatch, capsys, locked):
    folder = tmp_path / "results"
    add_cell(ResultsStore(folder), "fe347092aaaaaaaa")
    closed(ResultsStore(folder))
    db = folder / "nsr.db"
    before = (db.read_bytes(), sorted(p.name for p in folder.iterdir()))
    target = db if locked == "file" else folder
    mode = target.stat().st_mode
    target.chmod(0o444 if locked == "file" else 0o555)
    try:
        if os.access(target, os.W_OK):  # root ignores file modes: the store's check sees what others would
            real = os.access
            monkeypatch.setattr(store_module.os, "access", lambda p, m: real(p, m) and Path(p) != target)
        store = ResultsStore(folder)
        assert store.read_only
        assert [c["hash"] for c in store.table("cells")] == ["fe347092aaaaaaaa"]
        assert store.summaries() == [{"hash": "fe347092aaaaaaaa", "acc": 0.5}]
        with pytest.raises(StoreError, match=r"readonly database .* writable --results"):
            store.start_run("fe347092aaaaaaaa")
        assert main(["export-cell", "fe34", "--results", str(folder), "--out", str(tmp_path / "out")]) == 0
        assert main(["report", "--results", str(folder), "--stale"]) == 0
        assert "1 cells computed by other code" in capsys.readouterr().out
        store.engine.dispose()
    finally:
        target.chmod(mode)
    assert db.read_bytes() == before[0]
    if locked == "folder":  # opened immutable: not even the -wal and -shm files of WAL mode
        assert sorted(p.name for p in folder.iterdir()) == before[1]


@pytest.mark.parametrize("command", [["report"], ["report", "--stale"], ["figures", "--out", "{tmp}/figures"],
                                     ["export-cell", "fe34", "--out", "{tmp}/cell"],
                                     ["bank", "inspect", "--cell", "fe34"]], ids=lambda c: "-".join(c[:2]))
def test_reading_a_missing_store_is_one_error_and_creates_nothing(tmp_path, capsys, command):
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    (tmp_path / "empty").mkdir()
    for results in (tmp_path / "nonexistent", tmp_path / "empty", tmp_path / "my.db"):
        assert main([*args, "--results", str(results)]) == 2
        line = error_line(capsys)
        expected = results / "nsr.db" if results.suffix != ".db" else results
        assert f"no results store at {expected}; run cells first or give --results" in line
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "my.db").exists()
    assert list((tmp_path / "empty").iterdir()) == []


def test_hash_prefixes_are_hex_matched_literally(tmp_path, capsys):
    store = ResultsStore(tmp_path)
    add_cell(store, "fe347092aaaaaaaa")
    add_cell(store, "fe357092aaaaaaaa")
    assert store.cell("fe34")["hash"] == "fe347092aaaaaaaa"
    with pytest.raises(StoreError, match="several cells"):
        store.cell("fe3")
    for prefix in ("fe3_", "fe3%", "FE34", "", "fe347092aaaaaaaa0"):
        with pytest.raises(StoreError, match="in hex digits"):
            store.cell(prefix)
    assert main(["export-cell", "fe3_", "--results", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "give a cell's hash, or its first characters, in hex digits" in error_line(capsys)


def test_a_foreign_table_named_like_ours_is_refused_and_left_alone(tmp_path, capsys):
    db = tmp_path / "nsr.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE cells (id INTEGER, name TEXT)")
    for args in (["report"], ["export-cell", "fe34", "--out", str(tmp_path / "o")]):
        assert main([*args, "--results", str(tmp_path)]) == 2
        assert "its table 'cells' has no column hash, scenario" in error_line(capsys)
    with pytest.raises(StoreError, match="is not an nsr-bench results store"):
        ResultsStore(tmp_path)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("cells",)]


@pytest.mark.parametrize("document", ["summary", "manifest"])
@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"), ("[1, 2]", "a JSON list, not an object"),
    ('{"hash": "0000000000000000"}', "it names cell '0000000000000000'")], ids=["invalid", "list", "other-cell"])
def test_a_tampered_document_is_one_clear_error(tmp_path, capsys, document, text, problem):
    store = ResultsStore(tmp_path)
    add_cell(store, "fe347092aaaaaaaa", **{document: text})
    message = (f"the stored {document} of cell fe347092aaaaaaaa in {store.url} is damaged ({problem}); rerun the "
               "cell with --force to replace it, or delete it from the store")
    reads = [lambda: store.table("cells"), lambda: store.cell("fe34")]
    if document == "summary":
        reads += [lambda: store.summary("fe347092aaaaaaaa"), store.summaries]
    for read in reads:
        with pytest.raises(StoreError) as caught:
            read()
        assert str(caught.value) == message
    for args in (["report"], ["export-cell", "fe34", "--out", str(tmp_path / "o")]):
        assert main([*args, "--results", str(tmp_path)]) == 2
        assert error_line(capsys) == f"nsr-bench: error: {message}"


# ------------------------------------------------------------------ workers
@pytest.fixture(scope="module")
def queued_cells():
    """Three cells (seeds 0-2 of one resolved cell) for the queue; nothing of them is run."""
    from nsr_bench.resolution import resolve_cell

    cell = resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True)
    return [cell.model_copy(update={"seed": seed}) for seed in range(3)]


def fake_run_cell(monkeypatch, refuse=(), seconds: float = 0.0) -> None:
    """``run_cell`` as the worker sees it: refuses the cells of seeds ``refuse`` as a process with other code
    would, else takes ``seconds`` and succeeds."""
    from nsr_bench import runner
    from nsr_bench.identity import IdentityError

    def run_cell(cell, store, **_):
        if cell.seed in refuse:
            raise IdentityError(f"cell {cell.hash} was resolved with other code than this process has")
        time.sleep(seconds)
        return {"acc": 0.5}

    monkeypatch.setattr(runner, "run_cell", run_cell)


def test_a_worker_leaves_cells_it_cannot_honour_and_says_so(tmp_path, monkeypatch, capsys, queued_cells):
    from optuna import load_study
    from optuna.trial import TrialState

    from nsr_bench.distributed import enqueue, work

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    enqueue(queued_cells, url, "q")
    fake_run_cell(monkeypatch, refuse=(1, 2))
    lines = []
    done = work(url, "q", heartbeat=1, poll=0.1, log=lines.append)
    left = {c.hash for c in queued_cells[1:]}
    assert done.ran == 1 and set(done.left) == left
    assert sum("left cell" in line for line in lines) == 2 and not any("Traceback" in line for line in lines)
    waiting = load_study(study_name="q", storage=url).get_trials(states=(TrialState.WAITING,))
    assert {t.user_attrs["cell"] for t in waiting} == left  # still queued, for a compatible worker
    assert main(["worker", "--storage", url, "--study", "q", "--heartbeat", "1"]) == 1  # once each, then ends
    out, err = capsys.readouterr()
    assert "worker finished: 0 cells run here" in out and err.count("left cell") == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("nsr-bench: 2 cells queued by other code/data/device were "
                                                   "left (")
    assert "run the worker where they were queued, or re-enqueue them" in err


def test_a_heartbeat_that_cannot_reach_the_database_is_retried_not_a_dead_thread(tmp_path, monkeypatch,
                                                                                 queued_cells):
    import threading

    from optuna.storages import RDBStorage
    from sqlalchemy.exc import OperationalError

    from nsr_bench.distributed import enqueue, work

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    enqueue(queued_cells[:1], url, "q")
    fake_run_cell(monkeypatch, seconds=2.5)
    died = []
    monkeypatch.setattr(threading, "excepthook", died.append)

    def unreachable(self, trial_id):
        raise OperationalError("UPDATE trial_heartbeats", {}, Exception("server closed the connection"))

    monkeypatch.setattr(RDBStorage, "record_heartbeat", unreachable)
    lines = []
    done = work(url, "q", heartbeat=1, poll=0.1, log=lines.append)
    assert done.ran == 1 and not died
    beats = [line for line in lines if "heartbeat" in line]
    assert len(beats) == 1 and "server closed the connection" in beats[0] and "retrying every 1 s" in beats[0]


def test_a_worker_that_loses_the_database_stops_with_one_error(tmp_path, monkeypatch, capsys, queued_cells):
    import optuna
    from sqlalchemy.exc import OperationalError

    from nsr_bench.distributed import enqueue

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    enqueue(queued_cells[:1], url, "q")

    def unreachable(study):
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(optuna.storages, "fail_stale_trials", unreachable)
    assert main(["worker", "--storage", url, "--study", "q"]) == 2
    assert error_line(capsys) == (f"nsr-bench: error: lost the storage {url} (could not connect to server); this "
                                  "worker stopped: a cell it was running is retried by another worker once its "
                                  "trial goes stale; start the worker again when the database is reachable")
