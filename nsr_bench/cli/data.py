"""``nsr-bench data``: every scenario with whether its data is here; ``--prepare`` readies them for a matrix."""

from __future__ import annotations

import argparse

from nsr_bench.cli.common import Options, check_jobs, use_data_root


def add_parser(sub) -> None:
    """The ``data`` command and its options."""
    parser = sub.add_parser("data", help="list every scenario with whether its data is available here")
    opts = Options(parser)
    opts.shared("data_root", "device", device="cpu")
    opts.add("--prepare", nargs="*", metavar="SCENARIO", help="extract archives and pre-train the backbones of "
             "these scenarios (selectors; default: every one whose data is here) ahead of a matrix")
    opts.add("-j", "--jobs", type=int, default=1, help="prepare for `matrix -j JOBS` (its per-worker thread "
             "count: the backbone cache is per thread count; default 1)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the data root and each scenario's data status, or prepare scenarios (``--prepare``)."""
    from nsr_bench import registry
    from nsr_bench.scenarios.sources import data_root, source_status

    use_data_root(args.data_root)
    if args.prepare is not None:
        return prepare_data(args)
    root = data_root()
    print(f"data root: {root if root else '(none: pass --data-root or set NSR_DATA_ROOT)'}")
    status = {}
    for name, spec in sorted(registry.scenarios().items()):
        missing = [src for src in spec.sources() if status.setdefault(src, source_status(src, root))]
        state = "available" if not missing else f"missing {', '.join(missing)}"
        print(f"  {name.ljust(30)} {state}")
    for src, problem in sorted(status.items()):
        if problem:
            print(f"\n{src}: {problem}")
    return 0


def prepare_data(args: argparse.Namespace) -> int:
    """``data --prepare``: extract the archives and pre-train the backbones of the named scenarios (default:
    every scenario whose data is here) for ``matrix -j JOBS``'s per-worker thread count."""
    import torch

    from nsr_bench import registry
    from nsr_bench.matrix import worker_threads
    from nsr_bench.scenarios.prepare import prepare
    from nsr_bench.scenarios.sources import data_root, source_status

    check_jobs(args.jobs)
    names = args.prepare or [name for name, spec in sorted(registry.scenarios().items())
                             if not any(source_status(src, data_root()) for src in spec.sources())]
    threads = worker_threads(args.jobs) or torch.get_num_threads()
    for name in names:
        done = prepare(name, threads, args.device)
        state = "already cached" if done["backbone_cached"] else "pre-trained"
        print(f"  {name}: ready for {threads} thread(s) per cell in {done['seconds']:.1f} s (backbone {state})")
    return 0
