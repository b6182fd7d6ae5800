"""``nsr-bench matrix``: run (or queue) an ablation matrix spec, resumably."""

from __future__ import annotations

import argparse
import json
import sys

from nsr_bench.cli.common import Options, check_data, check_jobs, parse_seeds, training_logs, use_data_root


def add_parser(sub) -> None:
    """The ``matrix`` command and its options."""
    parser = sub.add_parser("matrix", help="run (or queue) an ablation matrix spec, resumably")
    parser.add_argument("spec", help=f"matrix YAML file, or the name of a shipped matrix ({', '.join(shipped())})")
    opts = Options(parser, config=True)
    opts.shared("results", "device", "data_root", "json", "untuned", device="cpu")
    opts.switch("--test", "every cell at its specs' tiny test configuration (a quick try of the matrix)")
    opts.add("--seeds", help="run these seeds (0,1,2 or 0-2) instead of the spec's")
    opts.add("-j", "--jobs", type=int, default=1, help="local worker processes (default 1)")
    opts.add("--storage", help="shared database URL (results and Optuna queue)")
    opts.switch("--enqueue", "queue the cells for `nsr-bench worker`")
    opts.add("--study", help="queue name (default: the matrix name)")
    opts.logging()
    parser.set_defaults(func=handle)


def shipped() -> list[str]:
    """The names of the shipped matrices."""
    from nsr_bench.registry import shipped_dir

    return sorted(p.stem for p in shipped_dir("matrices").glob("*.yaml"))


def handle(args: argparse.Namespace) -> int:
    """Run the matrix's unfinished cells (or queue them) and print its summary table (or JSON)."""
    from nsr_bench import matrix
    from nsr_bench.config import SpecError
    from nsr_bench.progress import Progress
    from nsr_bench.results.store import ResultsStore, tidy

    check_jobs(args.jobs)
    use_data_root(args.data_root)
    spec = matrix.with_options(matrix.load_matrix(args.spec), args.test,
                               parse_seeds(args.seeds) if args.seeds else None)
    cells, skipped = matrix.expand(spec, args.device, matrix.worker_threads(args.jobs), tuned=not args.untuned)
    for label, reason in skipped:
        print(f"skipped {label}: {reason}", file=sys.stderr)
    matrix.check_expanded(spec, cells, skipped)
    check_data([c.spec for c in cells])
    if args.enqueue:
        from nsr_bench.distributed import enqueue

        if not args.storage:
            raise SpecError("--enqueue needs --storage URL (the shared database the workers read)")
        waiting = enqueue([c.spec for c in cells], args.storage, args.study or spec.name)
        print(f"{len(cells)} cells of {spec.name!r} queued in {args.storage}; {waiting} waiting for workers")
        return 0
    store = ResultsStore(args.storage or args.results)
    with Progress(spec.name) as progress:
        finished, summaries, failed = matrix.run_matrix(cells, store, args.jobs, progress,
                                                        training_logs(args, args.storage or args.results))
    print(progress.line(), file=sys.stderr)
    for cell_hash, error in failed.items():
        print(f"failed {cell_hash}: {error} (traceback in the store's runs table)", file=sys.stderr)
    rows = matrix.summary_table(finished, summaries, spec.reference)
    if args.json:
        print(json.dumps(tidy([r.as_dict() for r in rows]), indent=1))
    else:
        print(f"{spec.name}: {len(finished)} of {len(cells)} cells finished ({len(failed)} failed, "
              f"{len(skipped)} combinations skipped), results: {store.url}")
        print(matrix.format_summary(rows, spec.reference))
    return 1 if failed else 0
