"""``nsr-bench run``: run cells (default: NSR vs fresh vs carry on the embedded scenario)."""

from __future__ import annotations

import argparse
import json
import sys

from nsr_bench.cli.common import Options, check_data, parse_seeds, training_logs, use_data_root

DEFAULT_SCENARIO = "digits_cyclic"
DEFAULT_STRATEGIES = ["nsr", "fresh", "carry"]


def add_parser(sub) -> None:
    """The ``run`` command and its options (all of them settable by ``--config``)."""
    parser = sub.add_parser("run", help="run cells (default: NSR vs fresh vs carry on the embedded scenario)")
    opts = Options(parser, config=True)
    opts.shared("results", "device", "data_root", "json", "untuned", device="auto")
    opts.add("--scenario", default=DEFAULT_SCENARIO,
             help=f"scenario, optionally NAME[key=value,...] (default {DEFAULT_SCENARIO})")
    opts.add("--strategy", action="append", default=DEFAULT_STRATEGIES,
             help='strategy, repeatable, e.g. "nsr[rank=8,cap=20]" (default: nsr, fresh, carry)')
    opts.add("--seeds", default="0", help="seeds as 0,1,2 or 0-2 (default 0)")
    opts.switch("--force", "recompute cells that are already finished")
    opts.switch("--test", "use every spec's tiny test configuration")
    opts.logging()
    parser.set_defaults(func=handle)


def format_table(labels: list[str], summaries: list[dict]) -> str:
    """Per strategy (``labels``: each summary's ``--strategy`` selector): n, mean ± t half-width over seeds,
    paired tests by seed against the first strategy (Holm-adjusted), and the caption line saying so."""
    from nsr_bench.metrics.summary import caption, group, summarise, table, text

    groups = group((s["scenario"], label, s["seed"], s) for label, s in zip(labels, summaries, strict=True))
    reference = labels[0] if labels else None
    rows = summarise(groups, reference)
    return text(*table(rows)) + "\n" + caption(rows, reference)


def handle(args: argparse.Namespace) -> int:
    """Run (or reuse) every strategy x seed cell, print the table (or JSON) of their summaries."""
    from nsr_bench.progress import Progress
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore, tidy
    from nsr_bench.runner import run_cell

    use_data_root(args.data_root)
    seeds = parse_seeds(args.seeds)
    selected = [(strategy, resolve_cell(args.scenario, strategy, seed, args.device, args.test,
                                        tuned=not args.untuned))
                for strategy in args.strategy for seed in seeds]
    check_data([cell for _, cell in selected])
    store = ResultsStore(args.results)
    logs = training_logs(args, args.results)
    summaries, labels, failed = [], [], []
    computes = [args.force or not store.done(cell.hash) for _, cell in selected]
    with Progress("cells") as progress:
        progress.plan(sum(computes))
        for (selector, cell), computing in zip(selected, computes, strict=True):
            try:
                summaries.append(run_cell(cell, store, force=args.force, progress=progress, logs=logs))
                labels.append(selector)
                progress.count(reused=not computing, computed=computing)
            except Exception as exc:  # recorded in the store's runs table; the other cells go on
                failed.append(f"{cell.strategy} seed {cell.seed} ({cell.hash}): {type(exc).__name__}: {exc}")
                progress.count(failed=1)
            progress.advance(computing)  # the bar's rate and ETA are the computed cells'
    print(progress.line(), file=sys.stderr)
    for line in failed:
        print(f"nsr-bench: cell failed: {line}", file=sys.stderr)
    for line in sorted({w for s in summaries for w in s.get("warnings", [])}):  # metrics left undefined
        print(f"nsr-bench: warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(tidy(summaries), indent=1))
    else:
        print(f"scenario: {args.scenario}   results: {store.url}")
        print(format_table(labels, summaries))
    return 1 if failed else 0
