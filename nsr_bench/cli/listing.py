"""``nsr-bench list``: strategies and scenarios with a one-line description."""

from __future__ import annotations

import argparse

from nsr_bench.cli.common import Options


def add_parser(sub) -> None:
    """The ``list`` command (no options)."""
    parser = sub.add_parser("list", help="list strategies and scenarios with a one-line description")
    Options(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from nsr_bench import registry

    for kind, specs in (("strategies", registry.strategies()), ("scenarios", registry.scenarios())):
        print(f"{kind}:")
        width = max((len(n) for n in specs), default=0)
        for name, spec in sorted(specs.items()):
            print(f"  {name.ljust(width)}  {spec.description}")
    return 0
