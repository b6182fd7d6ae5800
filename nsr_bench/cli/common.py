"""What several commands share: their common options, the ``--config`` mechanism, and small helpers.
Nothing here imports more than the standard library at start-up."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

MAX_SEEDS = 10_000  # seeds one command may name
SPEC_HELP = ("figure spec YAML: strategies shown, display names, colours, reference "
             "(default: the shipped nsr_bench/plots/spec.yaml)")
SHARED = {  # the options several commands take: help text, defined once (see Options.shared)
    "results": "results folder (SQLite file nsr.db in it), SQLite file (*.db) or database URL",
    "device": "auto, cpu, cuda or cuda:N",
    "data_root": "folder with the real datasets",
    "json": "print the output as JSON",
    "untuned": "use the specs' defaults, not their tuned `best` settings for the scenario",
    "overwrite": "replace output files that already exist (without it an existing file is an error)",
}
SWITCHES = ("json", "untuned", "overwrite")
SHOWN = {"results": "results", "device": "auto", "data_root": "$NSR_DATA_ROOT"}


class Options:
    """The options of one command, with their built-in defaults.

    With ``config=True`` the command takes ``--config FILE`` (a YAML mapping whose keys match its options):
    every option is parsed with default None ("not given") and :meth:`resolve` fills it from the file,
    else from its built-in default. So an explicit flag wins over the file and the file over the defaults;
    every switch is ``--NAME/--no-NAME``, so a flag can turn a file's value off as well as on."""

    def __init__(self, parser: argparse.ArgumentParser, config: bool = False):
        self.parser, self.config = parser, config
        self.defaults: dict[str, Any] = {}
        self.actions: dict[str, argparse.Action] = {}
        if config:
            parser.add_argument("--config", help="YAML file whose keys match this command's options (an "
                                "option given on the command line wins over the file)")
        parser.set_defaults(options=self)

    def add(self, *flags: str, default: Any = None, **kwargs: Any) -> argparse.Action:
        """``parser.add_argument`` with ``default`` kept as the built-in default."""
        action = self.parser.add_argument(*flags, default=None if self.config else default, **kwargs)
        self.defaults[action.dest], self.actions[action.dest] = default, action
        return action

    def switch(self, flag: str, help: str, default: bool = False) -> argparse.Action:
        """A ``--NAME/--no-NAME`` switch."""
        return self.add(flag, action=argparse.BooleanOptionalAction, default=default, help=help)

    def shared(self, *names: str, **defaults: Any) -> None:
        """The :data:`SHARED` options ``names``; ``defaults`` gives this command's own default for one, or
        ``(default, shown)`` when the help should show another value than the default."""
        for name in names:
            flag = "--" + name.replace("_", "-")
            if name in SWITCHES:
                self.switch(flag, SHARED[name])
                continue
            default = defaults.get(name, SHOWN[name] if name == "results" else None)
            default, shown = default if isinstance(default, tuple) else (default, default or SHOWN[name])
            self.add(flag, default=default, help=f"{SHARED[name]} (default {shown})")

    def logging(self) -> None:
        """``--log KIND`` and ``--log-dir``: the computed cells' training logs (see :mod:`nsr_bench.logs`)."""
        self.add("--log", action="append", default=[], metavar="KIND", help="log each computed cell's training "
                 "with Avalanche's loggers: tensorboard, wandb (offline unless WANDB_MODE says otherwise) or csv "
                 "(repeatable or a comma list; default none; never part of a cell's identity)")
        self.add("--log-dir", help="folder of the logs, a sub-folder per cell hash (default: logs/ next to the "
                 "results' SQLite file, ./logs for a database server)")

    def resolve(self, args: argparse.Namespace) -> None:
        """Fill every option not given on the command line from ``--config``, else its built-in default."""
        from nsr_bench.config import SpecError, load_yaml

        config = load_yaml(args.config) if self.config and args.config else {}
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            raise SpecError(f"{args.config}: unknown key(s) {unknown}; allowed: {sorted(self.defaults)}")
        for dest, default in self.defaults.items():
            if getattr(args, dest) is None:
                value = config_value(self.actions[dest], config[dest], args.config) if dest in config else default
                setattr(args, dest, value)


def config_value(action: argparse.Action, value: Any, where: str) -> Any:
    """A ``--config`` value for ``action``, checked and converted as the command line would be (a repeatable
    option takes one value or a list)."""
    from nsr_bench.config import SpecError

    flag = action.option_strings[0]
    if isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise SpecError(f"{where}: {action.dest}: give true or false for {flag} (got {value!r})")
        return value
    repeated = isinstance(action, argparse._AppendAction)
    items = value if repeated and isinstance(value, list) else [value]
    out = []
    for item in items:
        if action.type is not None and isinstance(item, str):
            try:
                item = action.type(item)
            except ValueError:
                raise SpecError(f"{where}: {action.dest}: {item!r} is not a valid {flag} value") from None
        if action.choices is not None and item not in action.choices:
            raise SpecError(f"{where}: {action.dest}: {item!r} is not one of {sorted(action.choices)}")
        out.append(item)
    return out if repeated else out[0]


def parse_seeds(text: str | int | list[int]) -> list[int]:
    """``"0,1,2"`` or ``"0-2"`` -> ``[0, 1, 2]`` (at most :data:`MAX_SEEDS`); a ``--config`` value (a number
    or a list) is checked the same way."""
    from nsr_bench.config import SpecError

    text = ",".join(map(str, text)) if isinstance(text, list) else str(text)
    try:
        if "-" in text.strip().lstrip("-"):
            lo, hi = (int(t) for t in text.split("-", 1))
            count = max(0, hi - lo + 1)
            seeds = range(lo, hi + 1)
        else:
            seeds = [int(s) for s in str(text).split(",") if s.strip()]
            count = len(seeds)
    except ValueError:
        raise SpecError(f"--seeds {text!r}: give integers as 0,1,2 or a range 0-2") from None
    if count > MAX_SEEDS:
        raise SpecError(f"--seeds {text!r} names {count} seeds, more than the {MAX_SEEDS} one command may run; "
                        "give a smaller range")
    seeds = list(seeds)
    if not seeds:
        raise SpecError(f"--seeds {text!r} names no seed; a range runs from low to high, as 0-2")
    return seeds


def check_jobs(jobs: int) -> None:
    """``-j JOBS`` must name at least one worker process."""
    from nsr_bench.config import SpecError

    if jobs < 1:
        raise SpecError(f"-j {jobs}: give at least 1 worker")


def use_data_root(value: str | None) -> None:
    """``--data-root`` wins over ``NSR_DATA_ROOT``; builders read the environment (not the cell hash)."""
    if value:
        os.environ["NSR_DATA_ROOT"] = str(Path(value).resolve())


def check_data(cells) -> None:
    """Every data source the cells read must be readable, before any training starts."""
    from nsr_bench.registry import lookup
    from nsr_bench.scenarios.sources import DataError, data_root, source_status

    needed = {src for cell in cells for src in lookup("scenarios", cell.scenario).sources(cell.scenario_params)}
    problems = [p for p in (source_status(src, data_root()) for src in sorted(needed)) if p]
    if problems:
        raise DataError("missing data, nothing was run:\n  " + "\n  ".join(problems))


def stored_results(target: str):
    """The results store ``target`` for reading: an error if there is none (reading creates nothing)."""
    from nsr_bench.results.store import ResultsStore

    return ResultsStore(target, create=False)


def current_results(args: argparse.Namespace):
    """The results store without cells of other code (unless ``--include-stale``), saying how many it left out."""
    from nsr_bench.identity import current_view

    store, left_out = current_view(stored_results(args.results), args.include_stale)
    if left_out:
        print(f"left out {left_out} stale cells computed by other code (`nsr-bench report --stale` lists them, "
              "--include-stale keeps them)", file=sys.stderr)
    return store


def training_logs(args: argparse.Namespace, results: str):
    """The :class:`~nsr_bench.logs.TrainingLogs` that ``--log`` and ``--log-dir`` ask for (None: no logs)."""
    from nsr_bench.logs import TrainingLogs, default_folder, parse_kinds

    kinds = parse_kinds(args.log)
    return TrainingLogs(kinds, Path(args.log_dir or default_folder(results))) if kinds else None
