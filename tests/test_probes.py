"""Probes of nonsense the command line used to accept silently or answer with a traceback: each is now one
``nsr-bench: error:`` line (exit 2), before any work, or a documented result."""

import time
from pathlib import Path

import pytest
import yaml

from nsr_bench.cli import main

ROOT = Path(__file__).resolve().parent.parent


def error_line(capsys) -> str:
    """The last stderr line, which must be the one ``nsr-bench: error:`` line."""
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("nsr-bench: error: ")
    return line


def fails(capsys, args: list[str], message: str) -> str:
    assert main(args) == 2, args
    line = error_line(capsys)
    assert message in line, line
    return line


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_selector_key_given_twice_is_refused(tmp_path, capsys):
    fails(capsys, ["run", "--strategy", "carry[rank=2,rank=3]", "--results", str(tmp_path)],
          "override 'rank' is given twice")
    assert not (tmp_path / "nsr.db").exists()


def test_a_yaml_tag_in_a_selector_value_is_one_error_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    fails(capsys, ["run", "--strategy", f"carry[rank=!!python/object/apply:os.system [touch {marker}]]",
                   "--results", str(tmp_path)], "without tags")
    assert not marker.exists()


@pytest.mark.parametrize("command", [["matrix", "{f}"], ["run", "--config", "{f}"],
                                     ["claims", "--protocol", "{f}"]])
def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys, command):
    bomb = write(tmp_path / "bomb.yaml", alias_bomb())
    started = time.perf_counter()
    fails(capsys, [c.format(f=bomb) for c in command] + ["--results", str(tmp_path)], "aliases expand to")
    assert time.perf_counter() - started < 2


def test_a_yaml_alias_bomb_in_a_selector_value_is_refused(tmp_path, capsys):
    value = "{" + alias_bomb(7).replace("\n", ", ").rstrip(", ") + "}"
    fails(capsys, ["run", "--strategy", f"carry[x={value}]", "--results", str(tmp_path)], "aliases expand to")


def test_a_recursive_alias_is_refused(tmp_path, capsys):
    fails(capsys, ["matrix", write(tmp_path / "m.yaml", "name: &a [*a]\n")], "recursive alias")


def test_a_huge_seed_range_is_refused(tmp_path, capsys):
    fails(capsys, ["run", "--seeds", "0-999999999", "--results", str(tmp_path)],
          "names 1000000000 seeds, more than the 10000")


@pytest.mark.parametrize("command", [["run", "--config", "{d}"], ["matrix", "{d}"]])
def test_a_folder_given_as_a_yaml_file_is_refused(tmp_path, capsys, command):
    fails(capsys, [c.format(d=tmp_path) for c in command] + ["--results", str(tmp_path / "r")],
          "is a folder, give a YAML file")


def test_a_matrix_of_a_million_cells_is_refused_before_expanding(tmp_path, capsys):
    factors = {f"f{i}": list(range(10)) for i in range(6)}
    spec = {"name": "huge", "strategy": "carry", "scenarios": ["digits_cyclic"], "seeds": [0], "factors": factors}
    started = time.perf_counter()
    fails(capsys, ["matrix", write(tmp_path / "m.yaml", yaml.safe_dump(spec)), "--results", str(tmp_path)],
          "1000000 combinations x 1 scenarios x 1 seeds = 1000000 cells, more than the 10000")
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("jobs", ["0", "-1"])
@pytest.mark.parametrize("command", [["data", "--prepare", "digits_cyclic"], ["matrix", "tiny"], ["claims"]])
def test_fewer_than_one_worker_is_refused(tmp_path, capsys, command, jobs):
    fails(capsys, [*command, "-j", jobs, *(["--results", str(tmp_path)] if command[0] != "data" else [])],
          f"-j {jobs}: give at least 1 worker")


@pytest.mark.parametrize("flags, message", [
    (["--overwrite-cost", "nan"], "--overwrite-cost nan: give a finite cost of 0 or more"),
    (["--overwrite-cost", "inf"], "give a finite cost"),
    (["--overwrite-cost", "-1"], "give a finite cost"),
    (["--trial-steps", "0"], "--trial-steps 0: give at least 1 update"),
])
def test_train_rl_refuses_nonsense_settings(tmp_path, capsys, flags, message):
    fails(capsys, ["train-rl", "--test", "--out", str(tmp_path / "p.json"), *flags], message)
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("flags, message", [
    (["--rank", "-1"], "--rank -1: give a stored rank of at least 1"),
    (["--paper-mb", "nan"], "--paper-mb nan: give a finite size above 0 MB"),
    (["--paper-mb", "0"], "give a finite size above 0 MB"),
    (["--layers", ""], "--layers '': give at least one layer glob"),
    (["--classes", "0"], "--classes 0: give at least 1 class"),
    (["--image-size", "1"], "small_cnn takes images of at least 2x2 pixels"),
    (["--in-channels", "0"], "and 1 channel"),
])
def test_claims_memory_refuses_nonsense_configurations(capsys, flags, message):
    fails(capsys, ["claims", "memory", *flags], message)


def test_claims_memory_at_the_smallest_image_size_works(capsys):
    assert main(["claims", "memory", "--image-size", "2", "--json"]) == 0


def test_sweep_all_with_a_strategy_is_refused(capsys):
    fails(capsys, ["sweep", "--all", "--strategy", "carry"], "give --all or --strategy, not both")


def test_a_journal_in_a_missing_folder_is_refused(tmp_path, capsys):
    fails(capsys, ["sweep", "--strategy", "carry", "--test", "--storage", "journal:/nonexistent/j.log",
                   "--results", str(tmp_path)], "the journal's folder /nonexistent does not exist")
    assert not (tmp_path / "nsr.db").exists()


@pytest.mark.parametrize("entry, message", [
    ({"type": "gaussian", "low": 0, "high": 1}, "type 'gaussian' is not int, float or categorical"),
    ({"type": "float", "low": 5.0, "high": 1.0}, "`low <= high` must hold"),
    ({"type": "int", "low": 0, "high": 8, "log": True}, "`low >= 1` must hold for `log=True`"),
    ({"type": "int", "low": 1.5, "high": 8}, "low and high must be finite ints"),
    ({"type": "float", "low": 0.0}, "missing ['high']"),
    ({"choices": []}, "must contain one or more elements"),
    ({"choices": "abc"}, "choices must be a list"),
    (3, "not a mapping"),
])
def test_a_bad_search_space_is_refused_before_any_trial(tmp_path, monkeypatch, capsys, entry, message):
    spec = {**yaml.safe_load((ROOT / "strategies" / "carry.yaml").read_text()), "name": "badspace"}
    spec["search_space"] = {**spec["search_space"], "alpha": entry}
    (tmp_path / "specs" / "strategies").mkdir(parents=True)
    (tmp_path / "specs" / "strategies" / "badspace.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("NSR_SPEC_PATH", str(tmp_path / "specs"))
    line = fails(capsys, ["sweep", "--strategy", "badspace", "--test", "--results", str(tmp_path)], message)
    assert "badspace.yaml: search space entry 'alpha'" in line
    assert not (tmp_path / "nsr.db").exists()


def test_metrics_a_stream_leaves_undefined_are_named_in_warnings():
    from nsr_bench.metrics.core import undefined

    one_task = {"acc": 0.9, "bwt": None, "bwt_agnostic": None, "fwt": None, "retention": 1.0,
                "recovery_steps_mean": 0.5}
    one_cycle = {"acc": 0.9, "bwt": -0.1, "bwt_agnostic": -0.2, "fwt": 0.0, "retention": None,
                 "recovery_steps_mean": None}
    assert [w.split(" is undefined")[0] for w in undefined(one_task)] == ["bwt", "bwt_agnostic", "fwt"]
    assert [w.split(" is undefined")[0] for w in undefined(one_cycle)] == ["retention", "recovery_steps_mean"]
    assert "no task recurs" in undefined(one_cycle)[0] and undefined({"acc": 1.0, "bwt": 0.0}) == []


def test_a_bank_file_and_a_cell_together_are_refused(tmp_path, capsys):
    fails(capsys, ["bank", "inspect", str(tmp_path / "b.safetensors"), "--cell", "abcd", "--results",
                   str(tmp_path)], "give a Bank FILE")
    fails(capsys, ["bank", "inspect", str(tmp_path / "b.safetensors"), "--save", str(tmp_path / "c")],
          "--save writes the Bank of --cell HASH")
