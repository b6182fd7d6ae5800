"""``--log``: each computed cell's training through Avalanche's loggers, never part of the cell."""

import json

import pytest

from nsr_bench.cli import main
from nsr_bench.config import SpecError
from nsr_bench.logs import default_folder, parse_kinds

TIMINGS = {"wall_s", "train_samples_per_s"}


def test_log_kinds_are_repeatable_comma_lists_of_known_loggers():
    assert parse_kinds(["tensorboard,csv", "csv", " wandb "]) == ("tensorboard", "csv", "wandb")
    assert parse_kinds([]) == ()
    with pytest.raises(SpecError, match="--log mlflow: unknown logger"):
        parse_kinds(["csv,mlflow"])


def test_logs_go_next_to_the_results_database(tmp_path):
    assert default_folder(str(tmp_path)) == tmp_path.resolve() / "logs"
    assert default_folder(str(tmp_path / "x.db")) == tmp_path.resolve() / "logs"
    assert str(default_folder("postgresql://h/db")) == "logs"


def summaries(capsys) -> list[dict]:
    return json.loads(capsys.readouterr().out)


def test_every_logger_writes_its_files_and_changes_neither_the_cell_nor_its_numbers(tmp_path, monkeypatch,
                                                                                   capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = ["run", "--test", "--strategy", "carry", "--json"]
    logs = tmp_path / "logs"
    assert main([*run, "--results", str(tmp_path / "a"), "--log", "tensorboard,csv", "--log", "wandb",
                 "--log-dir", str(logs)]) == 0
    (logged,) = summaries(capsys)
    assert main([*run, "--results", str(tmp_path / "b")]) == 0
    (plain,) = summaries(capsys)
    assert logged["hash"] == plain["hash"]
    assert {k: v for k, v in logged.items() if k not in TIMINGS} == {k: v for k, v in plain.items()
                                                                      if k not in TIMINGS}
    cell = logs / logged["hash"]
    assert list((cell / "tensorboard").glob("events.out.tfevents.*"))
    training = (cell / "csv" / "training_results.csv").read_text().splitlines()
    assert training[0].startswith("training_exp,epoch,training_accuracy") and len(training) > 1
    evaluated = [line.split(",") for line in (cell / "csv" / "eval_results.csv").read_text().splitlines()[1:]]
    last = [float(acc) for _, exp, acc, *_ in evaluated if exp == evaluated[-1][1]]
    tasks = len({task for task, *_ in evaluated})
    # the accuracy logged is the cell's own (task-masked): the last test evaluation averages to its ACC
    assert abs(sum(last[:tasks]) / tasks - logged["acc"]) < 1e-4
    (offline,) = (cell / "wandb").glob("offline-run-*")
    assert list(offline.glob("run-*.wandb"))
    assert main([*run, "--results", str(tmp_path / "a"), "--log", "wandb", "--log-dir", str(logs)]) == 0
    assert "cells: reused 1, computed 0" in capsys.readouterr().err
    assert len(list((cell / "wandb").glob("offline-run-*"))) == 1  # a reused cell logs nothing
