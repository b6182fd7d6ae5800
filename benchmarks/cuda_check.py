"""On a CUDA machine: run cells on the GPU and fail if sizeable tensor work stays on the CPU.

    python benchmarks/cuda_check.py [STRATEGY ...] [--scenario S] [--time-limit SECONDS]
    (default: nsr fresh rl ewc replay on the embedded scenario's test configuration)

Each strategy runs ``--scenario``'s test configuration on ``cuda`` with
:class:`nsr_bench.training.device_audit.CPUWorkAudit` in the loop, then prints its wall time and the CPU
ops it saw. ``--time-limit`` bounds the whole script: no strategy starts once the limit is reached, and
one still running at the limit is stopped, so it fits a lease of GPU time. Exit status 1 if any strategy
did CPU work inside the loop; 2 if CUDA is not available; 3 if the time limit cut the check short.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from nsr_bench.execution import execute_cell
from nsr_bench.resolution import resolve_cell
from nsr_bench.training.device_audit import CPUWorkAudit


class OutOfTime(Exception):
    """The ``--time-limit`` was reached."""


def _out_of_time(signum, frame):
    raise OutOfTime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("strategies", nargs="*", default=["nsr", "fresh", "rl", "ewc", "replay"])
    parser.add_argument("--scenario", default="digits_cyclic", help="its test configuration runs")
    parser.add_argument("--time-limit", type=int, default=0, help="seconds for the whole check (0: none)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("CUDA is not available here; run this on a GPU machine")
        return 2
    if args.time_limit > 0:
        signal.signal(signal.SIGALRM, _out_of_time)
        signal.alarm(args.time_limit)
    failed, done = 0, 0
    try:
        for name in args.strategies:
            audit = CPUWorkAudit()
            start = time.perf_counter()
            cell = resolve_cell(args.scenario, name, 0, "cuda", test=True)
            summary = execute_cell(cell, extra_plugins=[audit])[0]
            verdict = "ok" if not audit.counts else "CPU WORK"
            failed += bool(audit.counts)
            done += 1
            print(f"{name:10s} acc {summary['acc']:.3f}  {time.perf_counter() - start:6.1f} s  {verdict}  "
                  f"{dict(audit.counts.most_common(8))}", flush=True)
    except OutOfTime:
        print(f"time limit of {args.time_limit} s reached after {done} of {len(args.strategies)} strategies")
        return 3 if not failed else 1
    finally:
        signal.alarm(0)
    return int(failed > 0)


if __name__ == "__main__":
    sys.exit(main())
