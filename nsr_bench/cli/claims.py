"""``nsr-bench claims``: reproduce or refute each paper claim; ``claims memory``: analytic Bank sizes."""

from __future__ import annotations

import argparse
import json
import math
import sys

from nsr_bench.cli.common import Options, check_jobs, training_logs, use_data_root


def add_parser(sub) -> None:
    """The ``claims`` command, its ``memory`` sub-command and their options."""
    parser = sub.add_parser("claims", help="reproduce or refute each paper claim: verdicts with 95%% intervals "
                            "(reuses stored cells)")
    opts = Options(parser, config=True)
    opts.shared("results", "device", "data_root", "json", device="cpu")
    opts.add("--protocol", default="paper", help="claims protocol YAML, or a shipped one (default paper)")
    opts.switch("--test", "a tiny version: the protocol's test scenarios, strategies and seeds, every spec's "
                "tiny test configuration")
    opts.add("-j", "--jobs", type=int, default=1, help="local worker processes (default 1)")
    opts.add("--scenario", action="append", default=[],
             help="audit only this scenario (repeatable; default every scenario of the protocol)")
    opts.add("--recurrence", action="append", default=[],
             help="audit only this recurrence mode, e.g. resample (repeatable; default the protocol's)")
    opts.logging()
    parser.set_defaults(func=handle)
    memory = parser.add_subparsers(dest="claims_command").add_parser(
        "memory", help="analytic Bank bytes per entry/task of a configuration, and the rank the paper's MB/task "
        "implies")
    mem = Options(memory)
    mem.shared("json")
    mem.add("--backbone", default="small_cnn", help="small_cnn, resnet18_reduced, resnet18 or vit_b_16")
    mem.add("--layers", help="adapted layers, comma-separated globs (default: the backbone's LoRA targets; "
            "vit_b_16: *.q,*.v)")
    mem.add("--rank", type=int, default=4, help="stored rank per layer (default 4, the LoRA rank)")
    mem.add("--dtype", default="fp32", choices=["fp32", "fp16"], help="storage dtype (default fp32)")
    mem.add("--classes", type=int, default=10, help="classes per task (default 10)")
    mem.add("--in-channels", type=int, default=3, help="input channels (small CNNs; default 3)")
    mem.add("--image-size", type=int, default=32, help="input size (small CNNs; default 32)")
    mem.add("--paper-mb", type=float, default=0.29, help="the paper's MB per task (default 0.29)")
    memory.set_defaults(func=handle_memory)


def handle(args: argparse.Namespace) -> int:
    """Run (or reuse) the cells of the protocol's claims and print (or store) every verdict."""
    from nsr_bench.claims.audit import audit, format_table
    from nsr_bench.claims.protocol import load_protocol
    from nsr_bench.progress import Progress
    from nsr_bench.results.store import ResultsStore, tidy

    check_jobs(args.jobs)
    use_data_root(args.data_root)
    protocol = load_protocol(args.protocol)
    store = ResultsStore(args.results)
    with Progress("claims") as progress:
        verdicts, failed = audit(protocol, store, args.test, args.device, args.jobs, progress,
                                 args.scenario or None, args.recurrence or None, training_logs(args, args.results))
    print(progress.line(), file=sys.stderr)
    for cell_hash, error in failed.items():
        print(f"failed {cell_hash}: {error} (traceback in the store's runs table)", file=sys.stderr)
    rows = [v.as_dict() for v in verdicts]
    if args.json:
        print(json.dumps(tidy(rows), indent=1))
    else:
        test = " (test)" if args.test else ""
        print(f"claims of {protocol.name!r}{test}: {len(rows)} verdicts, stored in {store.url}")
        print(format_table(rows))
    return 1 if failed else 0


def handle_memory(args: argparse.Namespace) -> int:
    """The analytic Bank bytes of one configuration and the rank the paper's MB/task implies."""
    from nsr_bench.claims import memory
    from nsr_bench.config import SpecError

    patterns = None if args.layers is None else [p.strip() for p in args.layers.split(",") if p.strip()]
    problems = {"--rank": (args.rank < 1, "give a stored rank of at least 1"),
                "--classes": (args.classes < 1, "give at least 1 class per task"),
                "--paper-mb": (not (math.isfinite(args.paper_mb) and args.paper_mb > 0), "give a finite size "
                               "above 0 MB"),
                "--layers": (patterns == [], "give at least one layer glob, or leave --layers out for the "
                             "backbone's default targets")}
    for flag, (bad, fix) in problems.items():
        if bad:
            raise SpecError(f"{flag} {getattr(args, flag[2:].replace('-', '_'))!r}: {fix}")
    try:
        net = memory.backbone(args.backbone, args.in_channels, args.image_size)
        layers = memory.select_layers(net, patterns)
        parts = memory.entry_bytes(net, layers, args.rank, args.dtype, args.classes)
        rank = memory.implied_rank(net, layers, args.paper_mb, args.dtype, args.classes)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    out = {"backbone": args.backbone, "layers": {n: list(s) for n, s in layers.items()}, "rank": args.rank,
           "dtype": args.dtype, "classes": args.classes, "bytes": parts, "mb_per_entry": parts["total"] / 1e6,
           "paper_mb_per_task": args.paper_mb, "implied_rank": rank,
           "max_rank": min(min(shape) for shape in layers.values())}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.backbone}: {len(layers)} adapted layers ({', '.join(list(layers)[:4])}"
          f"{', ...' if len(layers) > 4 else ''}), stored rank {args.rank}, {args.dtype}, {args.classes} classes")
    print("  one entry: " + ", ".join(f"{k} {v} B" for k, v in parts.items())
          + f" = {parts['total'] / 1e6:.4f} MB (= MB per task with one entry per task)")
    verdict = f"rank {rank:.2f}"
    if rank < 1:
        verdict += " (below 1: fewer layers, or the key and head rows alone)"
    elif rank > out["max_rank"]:
        verdict += f" (above the largest rank these layers hold, {out['max_rank']}: more layers)"
    print(f"  the paper's {args.paper_mb} MB/task implies, for these layers and dtype: {verdict}")
    return 0
