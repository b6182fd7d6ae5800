"""``nsr-bench figures``: render every paper figure the results store has data for."""

from __future__ import annotations

import argparse
import sys

from nsr_bench.cli.common import SPEC_HELP, Options, current_results


def add_parser(sub) -> None:
    """The ``figures`` command and its options."""
    parser = sub.add_parser("figures", help="render every paper figure the results store has data for")
    opts = Options(parser)
    opts.shared("results", "overwrite")
    opts.add("--out", default="results/figures", help="output folder (default results/figures)")
    opts.switch("--include-stale", "keep cells of other code")
    opts.add("--spec", help=SPEC_HELP)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots import render_all
    from nsr_bench.plots.spec import load_spec

    out = OutputFolder(args.out, "--out", args.overwrite)  # checked before the store is opened (or created)
    spec = load_spec(args.spec)
    written, skipped, slopes = render_all(current_results(args), out, spec)
    for figure in written:
        print(f"wrote {figure.png} (and .pdf)")
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    for strategy, slope in sorted(slopes.items()):
        print(f"regret slope {strategy}: {slope} per cycle")
    return 0
