"""Signals end commands like Ctrl-C; stores that are read-only, missing, foreign or tampered with are read
or refused with one clear error; workers survive a lost database and leave cells they cannot honour."""

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
