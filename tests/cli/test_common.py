"""``--config``: an option given on the command line wins over the file, the file over the built-in default."""

import argparse
import re

import pytest

from nsr_bench.cli import build_parser
from nsr_bench.config import SpecError

CONFIGURABLE = {"run": [], "matrix": ["x.yaml"], "sweep": [], "claims": [], "train-rl": []}


def parsed(*argv: str) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.options.resolve(args)
    return args


def switches(command: str) -> list[argparse.Action]:
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    return [a for a in parser._actions if isinstance(a, argparse.BooleanOptionalAction)]


@pytest.mark.parametrize("command", CONFIGURABLE)
def test_every_switch_of_a_configurable_command_overrides_the_file_both_ways(command, tmp_path):
    actions = switches(command)
    assert {"test", "json"} & {a.dest for a in actions}
    for value in (True, False):
        cfg = tmp_path / f"{value}.yaml"
        cfg.write_text("".join(f"{a.dest}: {str(value).lower()}\n" for a in actions))
        base = [command, *CONFIGURABLE[command], "--config", str(cfg)]
        from_file = parsed(*base)
        flipped = parsed(*base, *(f"--{'no-' if value else ''}{a.option_strings[0][2:]}" for a in actions))
        for action in actions:
            assert getattr(from_file, action.dest) is value, action.dest
            assert getattr(flipped, action.dest) is (not value), action.dest
    defaults = parsed(command, *CONFIGURABLE[command])
    assert all(getattr(defaults, a.dest) is False for a in actions)


def test_values_from_the_file_are_converted_and_checked_like_flags(tmp_path):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("jobs: '3'\nresults: from-file\ndevice: cpu\n")
    args = parsed("matrix", "tiny", "--config", str(cfg), "--results", "flag")
    assert (args.jobs, args.results, args.device) == (3, "flag", "cpu")
    cfg.write_text("strategy: carry\nobjective: [acc_val, regret]\ntrials: 4\n")
    args = parsed("sweep", "--config", str(cfg))
    assert (args.strategy, args.objective, args.trials) == (["carry"], ["acc_val", "regret"], 4)
    assert parsed("sweep", "--config", str(cfg), "--strategy", "nsr").strategy == ["nsr"]  # replaced, not added
    for text, message in [("test: yes please\n", "give true or false for --test"),
                          ("objective: accuracy\n", "'accuracy' is not one of"),
                          ("trials: many\n", "'many' is not a valid --trials value"),
                          ("trails: 3\n", "unknown key(s) ['trails']")]:
        cfg.write_text(text)
        with pytest.raises(SpecError, match=re.escape(message)):
            parsed("sweep", "--config", str(cfg))


def test_seeds_from_a_config_file_may_be_a_number_or_a_list():
    from nsr_bench.cli.common import parse_seeds

    assert parse_seeds(3) == [3] and parse_seeds([0, 2]) == [0, 2] and parse_seeds("0-2") == [0, 1, 2]
