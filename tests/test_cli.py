"""The command line, end to end on the tiny test configuration."""

import json
import subprocess
import sys

import pytest
import torch

from nsr_bench.cli import main
from nsr_bench.cli.common import parse_seeds

SUMMARY_KEYS = {"strategy", "scenario", "seed", "acc", "bwt", "forgetting", "fwt", "recovery_steps_mean",
                "regret", "bank_mb_per_task", "bank_mb_total", "task_id_acc", "wall_s",
                "train_samples_per_s"}


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys, time; t = time.perf_counter(); from nsr_bench.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'avalanche' not in sys.modules, 'heavy import'\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: nsr-bench" in out.stdout


def test_run_writes_results_and_reuses_finished_cells(tmp_path, capsys):
    from nsr_bench.results.store import ResultsStore

    args = ["run", "--test", "--json", "--results", str(tmp_path), "--strategy", "nsr",
            "--strategy", "fresh[rank=3]"]
    assert main(args) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert [s["strategy"] for s in summaries] == ["nsr", "fresh"]
    assert SUMMARY_KEYS <= set(summaries[0])
    nsr, fresh = summaries
    assert nsr["bank_mb_per_task"] > 0 and fresh["bank_mb_per_task"] == 0.0
    store = ResultsStore(tmp_path)
    assert (tmp_path / "nsr.db").is_file()
    cells = {c["hash"]: c for c in store.table("cells")}
    assert set(cells) == {nsr["hash"], fresh["hash"]}
    manifest = json.loads(cells[nsr["hash"]]["manifest"])
    assert manifest["seed"] == 0 and manifest["cell"]["strategy_params"]["rank"] == 2
    assert {"torch", "avalanche", "nsr_bench"} <= set(manifest["versions"])
    assert manifest["decisions"] and manifest["recovery"]
    rows = [r for r in store.table("accuracy") if r["hash"] == nsr["hash"]]
    assert len(rows) == 2 * 7 * 3  # 2 inference modes x (N + 1) rows x M tasks
    assert {r["mode"] for r in rows} == {"oracle", "agnostic"}
    assert any(r["hash"] == nsr["hash"] for r in store.table("curves"))
    assert_bank_bytes_are_analytical(store.bank_bytes(nsr["hash"]), nsr["bank_mb_total"])
    finished = {c["hash"]: c["finished_at"] for c in store.table("cells")}
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == summaries
    assert {c["hash"]: c["finished_at"] for c in store.table("cells")} == finished
    assert len(store.table("runs")) == 2


def test_config_file_supplies_flags(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"strategy: carry\nseeds: 1\ntest: true\njson: true\nresults: {tmp_path / 'out'}\n")
    assert main(["run", "--config", str(cfg)]) == 0
    first = capsys.readouterr()
    (summary,) = json.loads(first.out)
    assert (summary["strategy"], summary["seed"]) == ("carry", 1)
    err = first.err
    assert main(["run", "--config", str(cfg), "--no-json"]) == 0  # an explicit flag switches the file's off
    captured = capsys.readouterr()
    assert captured.out.startswith("scenario: digits_cyclic") and "cells: reused 1, computed 0" in captured.err
    assert "cells: reused 0, computed 1" in err


def parsed(*argv: str):
    """``argv`` parsed with the options not given filled from ``--config`` or their defaults, as main does."""
    from nsr_bench.cli import build_parser

    args = build_parser().parse_args(argv)
    args.options.resolve(args)
    return args


def test_an_explicit_flag_overrides_the_config_file_both_ways(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("force: true\njson: true\ntest: false\n")
    args = parsed("run", "--config", str(cfg), "--no-force", "--no-json", "--test")
    assert (args.force, args.json, args.test) == (False, False, True)
    args = parsed("run", "--config", str(cfg))
    assert (args.force, args.json, args.test) == (True, True, False)
    assert parsed("run").force is False


@pytest.mark.parametrize("args, message", [
    (["run", "--strategy", "nope"], "unknown strategy 'nope'; valid names: adapter_store, agem, carry"),
    (["run", "--scenario", "nope"], "unknown scenario 'nope'; valid names: digits_cyclic"),
    (["run", "--strategy", "nsr[rnk=3]"], "rnk: unknown key"),
    (["run", "--strategy", "nsr[cap=0]"], "cap: Input should be greater than or equal to 1"),
    (["run", "--strategy", "nsr[bank=false]"], "set bank=true"),
    (["run", "--scenario", "digits_cyclic[taks=3]"], "unknown parameter(s) ['taks']"),
    (["run", "--seeds", "a,b"], "--seeds 'a,b'"),
    (["run", "--results", "postgresql://nobody@127.0.0.1:1/x"], "cannot open the results store"),
])
def test_bad_input_gets_one_clear_message(args, message, capsys, tmp_path):
    if "--results" not in args:
        args = [*args, "--results", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "nsr.db").exists()


def test_data_prepare_pretrains_once_for_the_workers_thread_count(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))
    selector = "digits_cyclic[tasks=2,cycles=1,pretrain_epochs=1]"
    assert main(["data", "--prepare", selector, "-j", "2"]) == 0
    assert "pre-trained" in capsys.readouterr().out
    (backbone,) = (tmp_path / "cache" / "backbones").glob("*.safetensors")
    assert main(["data", "--prepare", selector, "-j", "2"]) == 0
    assert "already cached" in capsys.readouterr().out
    assert list((tmp_path / "cache" / "backbones").glob("*.safetensors")) == [backbone]


def test_seed_lists_and_ranges():
    assert parse_seeds("0,1,2") == parse_seeds("0-2") == [0, 1, 2]
    assert parse_seeds("5") == [5]


def assert_bank_bytes_are_analytical(data, reported_mb):
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    bank = TaskKnowledgeBank.from_bytes(data)
    expected = 0
    for entry in bank.entries.values():
        for c in entry.layers.values():
            out, inp = c.shape[0], int(torch.tensor(c.shape[1:]).prod())
            expected += (out * c.rank + c.rank + c.rank * inp) * 4
        expected += len(entry.meta.classes) * (entry.head_weight.shape[1] + 1) * 4 + entry.key.numel() * 4
    assert bank.nbytes == expected == round(reported_mb * 1e6)
