"""Faults: non-finite losses, interrupts, unusable result folders, and files from outside."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from nsr_bench.cli import main
from nsr_bench.results.store import ResultsStore


def start_until_cells(cmd: list[str], results, cells: int) -> subprocess.Popen:
    """Start ``cmd`` and return once ``cells`` cells are stored in ``results`` (at most 4 minutes)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline:
        if (results / "nsr.db").exists() and len(ResultsStore(results).table("cells")) >= cells:
            break
        time.sleep(0.3)
    return proc


def test_nan_loss_stops_the_cell_with_a_recorded_failure(tmp_path, capsys):
    code = main(["run", "--test", "--strategy", "carry", "--strategy", "fresh",
                 "--scenario", "digits_cyclic[lr=1e30]", "--results", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("NonFiniteLoss: loss is nan") == 2 and "lower the learning rate" in err
    store = ResultsStore(tmp_path)
    assert store.table("cells") == []
    assert [r["status"] for r in store.table("runs")] == ["failed", "failed"]


def test_results_folder_that_cannot_be_created_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["run", "--test", "--strategy", "carry", "--results", str(blocker / "results")]) == 2
    assert "cannot open the results store" in capsys.readouterr().err


def test_ctrl_c_keeps_finished_cells_and_a_rerun_resumes(tmp_path):
    cmd = [sys.executable, "-m", "nsr_bench.cli", "run", "--test", "--seeds", "0-5", "--strategy", "carry",
           "--results", str(tmp_path)]
    proc = start_until_cells(cmd, tmp_path, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "finished cells are kept" in err
    store = ResultsStore(tmp_path)
    kept = {c["hash"]: c["finished_at"] for c in store.table("cells")}
    assert 1 <= len(kept) < 6
    # the interrupted cell's run is marked interrupted; a SIGINT between two cells interrupts no run
    statuses = [r["status"] for r in store.table("runs")]
    assert set(statuses) <= {"done", "interrupted"} and statuses.count("done") == len(kept)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=os.environ)
    assert rerun.returncode == 0
    after = {c["hash"]: c["finished_at"] for c in store.table("cells")}
    assert len(after) == 6 and all(after[h] == t for h, t in kept.items())


def test_bank_inspect_reads_a_bank_and_rejects_junk(tmp_path, capsys):
    import torch

    from nsr_bench.nsr.bank import TaskKnowledgeBank
    from tests.nsr.test_bank import make_entry

    bank = TaskKnowledgeBank(cap=3)
    for t in range(2):
        bank.reserve(make_entry(torch.eye(4)[t], t), now=t)
    bank.save(tmp_path / "bank.safetensors")
    assert main(["bank", "inspect", str(tmp_path / "bank.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "2 entries, cap K=3" in out and "entry 1: tasks [1]" in out and "key cosine similarities" in out
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    assert main(["bank", "inspect", str(tmp_path / "junk.safetensors")]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err


def test_concurrent_local_processes_never_lose_or_duplicate_rows(tmp_path):
    spec = tmp_path / "four.yaml"
    spec.write_text("name: four\nstrategy: nsr\nscenarios: [digits_cyclic]\nseeds: [0]\ntest: true\n"
                    "factors:\n  strategy: [fresh, carry]\n  bank: [true, false]\n")
    cmd = [sys.executable, "-m", "nsr_bench.cli", "matrix", str(spec), "--results", str(tmp_path)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    store = ResultsStore(tmp_path)
    cells = store.table("cells")
    assert len(cells) == 4 == len({c["hash"] for c in cells})
    accuracy = store.table("accuracy")
    assert len(accuracy) == 4 * 2 * 7 * 3  # 4 cells x 2 modes x (N + 1) rows x M tasks, no duplicates
    assert len({(r["hash"], r["mode"], r["experience"], r["task"]) for r in accuracy}) == len(accuracy)
    statuses = [r["status"] for r in store.table("runs")]
    assert statuses.count("done") == 4 and set(statuses) <= {"done", "duplicate"}


def test_a_full_disk_fails_cleanly_and_keeps_finished_cells(tmp_path):
    """The store's file may not grow (RLIMIT_FSIZE, as on a full disk) once one cell is written."""
    store = ResultsStore(tmp_path)
    base = [sys.executable, "-m", "nsr_bench.cli", "run", "--test", "--strategy", "carry",
            "--results", str(tmp_path)]
    assert subprocess.run(base, capture_output=True, timeout=300).returncode == 0
    kept = store.table("cells")
    size = (tmp_path / "nsr.db").stat().st_size + (tmp_path / "nsr.db-wal").stat().st_size
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size + 4096}, {size + 4096}))\n"
            "from nsr_bench.cli import main\n"
            f"sys.exit(main({[*base[3:], '--seeds', '1-3', '--strategy', 'nsr']!r}))")
    full = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert full.returncode in (1, 2), full.stderr
    assert "cannot write" in full.stderr or "cannot open the results store" in full.stderr, full.stderr[-2000:]
    assert "Traceback" not in full.stderr
    assert [c for c in ResultsStore(tmp_path).table("cells") if c["hash"] in {k["hash"] for k in kept}] == kept


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_interrupted_sweep_keeps_its_trials_and_a_rerun_completes_the_same_study(tmp_path, sig):
    import json

    import optuna
    from optuna.trial import TrialState

    cmd = [sys.executable, "-m", "nsr_bench.cli", "sweep", "--strategy", "carry", "--trials", "5", "--test",
           "--pruner", "none", "--results", str(tmp_path)]
    proc = start_until_cells(cmd, tmp_path, 2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "finished cells are kept" in err, err[-2000:]
    before = {c["hash"]: c["finished_at"] for c in ResultsStore(tmp_path).table("cells")}
    assert len(before) >= 2
    rerun = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    (report,) = json.loads(rerun.stdout)
    assert report["trials"] >= 5
    (summary,) = optuna.get_all_study_summaries(storage=ResultsStore(tmp_path).url)
    study = optuna.load_study(study_name=summary.study_name, storage=ResultsStore(tmp_path).url)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 5
    after = {c["hash"]: c["finished_at"] for c in ResultsStore(tmp_path).table("cells")}
    assert all(after[h] == t for h, t in before.items())


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="root needs setpriv to drop "
                    "CAP_DAC_OVERRIDE, or file modes do not apply")
def test_read_only_results_folder_fails_cleanly_and_keeps_finished_cells(tmp_path):
    base = [sys.executable, "-m", "nsr_bench.cli", "run", "--test", "--strategy", "carry",
            "--results", str(tmp_path)]
    assert subprocess.run(base, capture_output=True, timeout=300).returncode == 0
    kept = ResultsStore(tmp_path).table("cells")
    modes = {p: p.stat().st_mode for p in [tmp_path, *tmp_path.iterdir()]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    as_user = (["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
               if os.geteuid() == 0 else [])  # root: drop the capabilities that ignore file modes
    try:
        ro = subprocess.run([*as_user, *base, "--seeds", "1"], capture_output=True, text=True, timeout=300)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert ro.returncode in (1, 2), ro.stderr[-2000:]  # refused at opening, or the cell failed at writing
    assert "readonly database" in ro.stderr and "writable" in ro.stderr
    assert "Traceback" not in ro.stderr
    assert ResultsStore(tmp_path).table("cells") == kept
