"""The ablation matrix: expansion, resumption after SIGKILL, export, and distributed workers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nsr_bench.matrix import MatrixSpec, expand, format_summary, load_matrix, summary_table
from nsr_bench.results.store import ResultsStore

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "matrices" / "tiny.yaml"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "nsr_bench.cli", *args]


def test_paper_ablation_expands_and_skips_what_cannot_recall():
    spec = load_matrix(ROOT / "matrices" / "paper_ablation.yaml")
    cells, skipped = expand(spec)
    assert len(cells) == (2 * 7 * 2 - 6) * 5  # 28 combinations, 6 impossible, 5 seeds
    assert sorted(label for label, _ in skipped) == [
        'strategy="nsr",bank=false,distill_lambda=0.0', 'strategy="nsr",bank=false,distill_lambda=1.0',
        'strategy="rl",bank=false,distill_lambda=0.0', 'strategy="rl",bank=false,distill_lambda=1.0',
        'strategy="rl_online",bank=false,distill_lambda=0.0', 'strategy="rl_online",bank=false,distill_lambda=1.0']
    assert all("set bank=true" in reason for _, reason in skipped)
    assert len({c.spec.hash for c in cells}) == len(cells)
    params = {(c.combo["bank"], c.combo["strategy"]): c.spec for c in cells}
    assert params[(False, "round_robin")].strategy_params["bank"] is False
    assert params[(True, "rl")].impl == "nsr_bench.strategies.rl"
    assert params[(True, "rl_online")].impl == "nsr_bench.strategies.rl_online"


def test_any_factorial_and_bad_specs(tmp_path):
    spec = MatrixSpec(name="x", strategy="carry", scenarios=["digits_cyclic"], seeds=[0],
                      factors={"rank": [2, 4], "distill_lambda": [0.0, 1.0]})
    cells, skipped = expand(spec)
    assert len(cells) == 4 and not skipped
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nstrategy: nsr\nscenarios: []\nfactors: {}\nextra: 1\n")
    from nsr_bench.config import SpecError

    with pytest.raises(SpecError, match="extra: unknown key"):
        load_matrix(bad)


def test_one_at_a_time_design_varies_each_factor_around_the_reference():
    spec = load_matrix(ROOT / "matrices" / "memory_ablation.yaml")
    combos = spec.combinations()
    reference = combos[0]
    assert reference == spec.reference and len(combos) == 1 + sum(len(v) - 1 for v in spec.factors.values())
    assert all(sum(c[k] != reference[k] for k in reference) == 1 for c in combos[1:])
    assert any(c["cap"] < 5 for c in combos)  # K below the number of tasks
    cells, skipped = expand(spec)
    assert not skipped and len({c.spec.hash for c in cells}) == len(cells) == len(combos) * len(spec.seeds)
    fp16 = next(c for c in cells if c.combo["store_dtype"] == "fp16")
    assert fp16.spec.strategy_params["store_dtype"] == "fp16" and fp16.spec.strategy_params["cap"] == 50
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="give the reference a value for"):
        MatrixSpec(name="x", strategy="nsr", scenarios=["digits_cyclic"], design="one_at_a_time",
                   factors={"cap": [1, 2]}, reference={})


def test_summary_pairs_every_cell_with_the_reference_by_seed():
    spec = load_matrix(TINY)
    cells, _ = expand(spec)
    fake = [{"acc": 0.5 + 0.1 * c.combo["bank"] + 0.01 * c.spec.seed, "recovery_steps_mean": 1.0 * c.spec.seed}
            for c in cells]
    table = summary_table(cells, fake, spec.reference)
    rows = {r.label: r.as_dict() for r in table}
    assert rows['strategy="carry",bank=false']["d_acc"] == pytest.approx(-0.1)
    assert rows['strategy="carry",bank=false']["p_acc"] == 0.0  # the same shift on both seeds
    assert "d_acc" not in rows['strategy="fresh",bank=true']
    assert rows['strategy="carry",bank=true']["acc"] == pytest.approx(0.605)
    assert rows['strategy="carry",bank=true']["acc_low"] < 0.605 < rows['strategy="carry",bank=true']["acc_high"]
    text = format_summary(table, spec.reference)
    assert "n = 2 seeds per row" in text.splitlines()[-1] and "paired t-test" in text and "Holm" in text



def test_two_scenario_selectors_of_one_scenario_are_two_rows_of_the_summary():
    spec = MatrixSpec(name="x", scenarios=["digits_cyclic[recurrence=drift]",
                                           "digits_cyclic[recurrence=drift,drift_strength=3.0]"],
                      seeds=[0, 1], factors={"strategy": ["carry"]}, test=True)
    cells, _ = expand(spec)
    rows = summary_table(cells, [{"acc": 0.5 + 0.1 * c.spec.seed} for c in cells], spec.reference)
    assert [(r.scenario, r.n) for r in rows] == [(s, 2) for s in spec.scenarios]

def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_midway_then_restart_finishes_every_cell_exactly_once(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cli("matrix", str(TINY), "--results", str(tmp_path)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store_path = tmp_path / "nsr.db"

    def finished() -> int:
        return len(ResultsStore(tmp_path).table("cells")) if store_path.exists() else 0

    try:
        wait_for(lambda: finished() >= 2, 240, "two finished cells")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = ResultsStore(tmp_path)
    before = {c["hash"]: c for c in store.table("cells")}
    accuracy_before = sorted((r["hash"], r["id"], r["acc"]) for r in store.table("accuracy"))
    assert 2 <= len(before) < 8
    done = subprocess.run(cli("matrix", str(TINY), "--results", str(tmp_path), "--json"), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    cells = {c["hash"]: c for c in store.table("cells")}
    assert len(cells) == 8
    assert all(cells[h] == row for h, row in before.items())  # untouched: same rows, same timestamps
    assert [r for r in sorted((r["hash"], r["id"], r["acc"]) for r in store.table("accuracy"))
            if r[0] in before] == accuracy_before
    stored = [r["hash"] for r in store.table("runs") if r["status"] == "done"]
    assert sorted(stored) == sorted(cells)  # each cell stored by exactly one run
    assert len(json.loads(done.stdout)) == 4


def test_report_exports_parquet_and_csv(tmp_path, capsys):
    import pandas as pd

    from nsr_bench.cli import main

    assert main(["run", "--test", "--strategy", "carry", "--results", str(tmp_path)]) == 0
    assert main(["report", "--results", str(tmp_path), "--export", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Carry (memoryless)" in out and "n = 1 seeds per row" in out and "wrote" in out
    cells = pd.read_parquet(tmp_path / "out" / "cells.parquet")
    assert list(cells["strategy"]) == ["carry"] and "param.rank" in cells
    acc = pd.read_csv(tmp_path / "out" / "accuracy.csv")
    assert set(acc.columns) >= {"hash", "mode", "experience", "task", "acc"} and len(acc) == 42


PG_URL = os.environ.get("NSR_TEST_PG_URL")


@pytest.mark.skipif(not PG_URL, reason="NSR_TEST_PG_URL (a PostgreSQL database for tests) not set")
def test_two_workers_on_postgresql_run_every_cell_once(tmp_path):
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(PG_URL)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)  # a clean database: our tables and Optuna's
    engine.dispose()
    queued = subprocess.run(cli("matrix", str(TINY), "--storage", PG_URL, "--enqueue"),
                            capture_output=True, text=True, timeout=300)
    assert queued.returncode == 0, queued.stderr
    assert "8 waiting" in queued.stdout
    workers = [subprocess.Popen(cli("worker", "--storage", PG_URL, "--study", "tiny", "--heartbeat", "5"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    ran = [int(out.split("worker finished: ")[1].split()[0]) for out, _ in outputs]
    store = ResultsStore(PG_URL)
    runs = store.table("runs")
    assert len(store.table("cells")) == 8 and sum(ran) == 8
    assert len(runs) == 8 and len({r["hash"] for r in runs}) == 8  # no cell run twice
    assert all(r > 0 for r in ran), f"one worker did everything: {ran}"


def test_a_failing_cell_is_recorded_and_does_not_stop_the_matrix(tmp_path, capsys, monkeypatch):
    from nsr_bench import runner
    from nsr_bench.cli import main

    real = runner.execute_cell

    def failing(cell, *args, **kwargs):
        if cell.strategy_params["rank"] == 2:
            raise RuntimeError("this cell breaks")
        return real(cell, *args, **kwargs)

    monkeypatch.setattr(runner, "execute_cell", failing)
    spec = tmp_path / "m.yaml"
    spec.write_text("name: m\nstrategy: carry\nscenarios: [digits_cyclic]\nseeds: [0]\ntest: true\n"
                    "factors:\n  rank: [1, 2]\n")
    assert main(["matrix", str(spec), "--results", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "failed" in captured.err and "this cell breaks" in captured.err
    assert "1 of 2 cells finished (1 failed" in captured.out
    store = ResultsStore(tmp_path)
    assert len(store.table("cells")) == 1
    assert [r["status"] for r in store.table("runs")].count("failed") == 1


def test_a_combination_the_model_cannot_take_is_skipped_before_anything_runs():
    from nsr_bench.matrix import MatrixSpec, expand

    spec = MatrixSpec(name="m", strategy="carry", scenarios=["digits_cyclic"], test=True,
                      factors={"targets": [None, ["features.nope"]]})
    cells, skipped = expand(spec)
    assert len(cells) == 1 and "not a module of the model" in skipped[0][1]


def test_seeds_given_on_the_command_line_are_bounded_like_a_spec_file():
    from nsr_bench.config import SpecError
    from nsr_bench.matrix import MAX_CELLS, load_matrix, with_options

    spec = load_matrix("tiny")
    assert with_options(spec, True, [3]).seeds == [3] and with_options(spec, False, None) == spec
    with pytest.raises(SpecError, match=f"matrix 'tiny' on 5001 seeds: .* more than the {MAX_CELLS}"):
        with_options(spec, False, list(range(5001)))
