"""``nsr-bench export-cell``: one cell's manifest, summary, accuracy matrix, curves and Bank as files."""

from __future__ import annotations

import argparse

from nsr_bench.cli.common import Options, stored_results


def add_parser(sub) -> None:
    """The ``export-cell`` command and its options."""
    parser = sub.add_parser("export-cell", help="write one cell's manifest, summary, accuracy matrix, curves "
                            "and Bank as files")
    parser.add_argument("cell", help="cell hash (or a unique prefix of one)")
    opts = Options(parser)
    opts.shared("results", "overwrite")
    opts.add("--out", required=True, help="output folder")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.results.export import export_cell

    out = OutputFolder(args.out, "--out", args.overwrite)
    for path in export_cell(stored_results(args.results), args.cell, out):
        print(f"wrote {path}")
    return 0
