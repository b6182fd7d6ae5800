"""On a CUDA machine: run cells on the GPU and fail if sizeable tensor work stays on the CPU.

    python benchmarks/cuda_check.py [STRATEGY ...]     (default: nsr fresh rl ewc replay)

Each strategy runs the embedded scenario's test configuration on ``cuda`` with
:class:`nsr_bench.training.device_audit.CPUWorkAudit` in the loop, then prints the CPU ops it saw.
Exit status 1 if any strategy did CPU work inside the loop; 2 if CUDA is not available.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from nsr_bench.runner import execute_cell, resolve_cell
from nsr_bench.training.device_audit import CPUWorkAudit


def main(strategies: list[str]) -> int:
    if not torch.cuda.is_available():
        print("CUDA is not available here; run this on a GPU machine")
        return 2
    failed = 0
    for name in strategies:
        audit = CPUWorkAudit()
        summary = execute_cell(resolve_cell("digits_cyclic", name, 0, "cuda", test=True), extra_plugins=[audit])[0]
        verdict = "ok" if not audit.counts else "CPU WORK"
        failed += bool(audit.counts)
        print(f"{name:10s} acc {summary['acc']:.3f}  {verdict}  {dict(audit.counts.most_common(8))}")
    return int(failed > 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["nsr", "fresh", "rl", "ewc", "replay"]))
