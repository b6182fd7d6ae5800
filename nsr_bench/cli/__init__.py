"""The ``nsr-bench`` command line: one module per command, each defining its options (``add_parser``) and
its handler. Heavy imports happen inside the handlers, never at start-up."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("run", "data", "matrix", "worker", "sweep", "report", "export_cell", "figures", "train_rl", "bank",
            "claims", "listing")
"""The modules of :mod:`nsr_bench.cli` that define a command, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (``args.options.resolve(args)`` then fills the options not given)."""
    from nsr_bench import __version__

    parser = argparse.ArgumentParser(prog="nsr-bench", description="Comparative continual-learning "
                                     "benchmark for Neural Subspace Reallocation (NSR).")
    parser.add_argument("--version", action="version", version=f"nsr-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; returns its exit status (2 for a spec error, 128 + N for signal N)."""
    args = build_parser().parse_args(argv)
    from nsr_bench.config import SpecError
    from nsr_bench.interrupts import exit_status, interrupting
    from nsr_bench.nsr.bank import BankFileError

    try:
        with interrupting():  # SIGTERM and SIGHUP end the command like Ctrl-C, exit status 128 + signal
            args.options.resolve(args)  # --config and the defaults under the flags given
            return args.func(args)
    except (SpecError, BankFileError) as exc:
        print(f"nsr-bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("nsr-bench: interrupted; finished cells are kept, rerun the same command to resume",
              file=sys.stderr)
        return exit_status(exc)
