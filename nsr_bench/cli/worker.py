"""``nsr-bench worker``: run queued cells from a shared database until none is left."""

from __future__ import annotations

import argparse
import sys

from nsr_bench.cli.common import Options, use_data_root


def add_parser(sub) -> None:
    """The ``worker`` command and its options."""
    parser = sub.add_parser("worker", help="run queued cells from a shared database until none is left")
    opts = Options(parser)
    opts.shared("results", "data_root", results=(None, "the --storage URL"))
    opts.add("--storage", required=True, help="database URL the cells were queued in")
    opts.add("--study", required=True, help="queue name (the matrix name)")
    opts.add("--heartbeat", type=int, default=30, help="seconds between heartbeats (default 30)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Take queued cells until the queue is empty; status 1 if some were left undone."""
    from nsr_bench.distributed import work

    use_data_root(args.data_root)
    done = work(args.storage, args.study, args.results, args.heartbeat,
                log=lambda m: print(m, file=sys.stderr))
    print(f"worker finished: {done.ran} cells run here")
    if done.left:
        print(f"nsr-bench: {done.summary()}", file=sys.stderr)
        return 1
    return 0
