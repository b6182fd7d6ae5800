"""Measure the performance targets as ratios in one run on this machine, and print a table.

    python benchmarks/ratios.py

Each timed function runs ``REPEATS`` times, interleaved, after one warm-up; the median is used.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks import common
from benchmarks.test_bench import filled_bank
from nsr_bench.nsr.compress import compress

REPEATS = 7


def timed(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    sc = common.scenario()
    loops = {"bare PyTorch loop": common.bare_loop(sc), "plain LoRA (Avalanche)": common.lora_strategy(sc),
             "NSR (Bank, distillation)": common.nsr_strategy(sc),
             "NSR (Bank, no distillation)": common.nsr_strategy(sc, 0.0)}
    for fn in loops.values():
        fn()  # warm-up
    samples: dict[str, list[float]] = {k: [] for k in loops}
    for _ in range(REPEATS):  # interleaved, so drifts of the machine hit all equally
        for name, fn in loops.items():
            samples[name].append(timed(fn, 1))
    t = {k: statistics.median(v) for k, v in samples.items()}
    n = common.EPOCHS * len(sc.tasks[1].y_train)
    print(f"training one experience ({n} samples, {common.EPOCHS} epochs, batch {common.BATCH}):")
    for name, value in t.items():
        print(f"  {name:30s} {value * 1e3:8.1f} ms  ({n / value:7.0f} samples/s)")
    print(f"  ratio plain LoRA / bare loop          {t['plain LoRA (Avalanche)'] / t['bare PyTorch loop']:.2f}"
          "  (target <= 1.15)")
    nsr_ratio = t["NSR (Bank, distillation)"] / t["plain LoRA (Avalanche)"]
    print(f"  ratio NSR / plain LoRA                {nsr_ratio:.2f}  (target <= 1.05)")
    print(f"  ratio NSR without distillation / LoRA "
          f"{t['NSR (Bank, no distillation)'] / t['plain LoRA (Avalanche)']:.2f}")
    for size in (10, 1_000, 10_000):
        bank = filled_bank(size)
        query = torch.randn(64)
        per = timed(lambda b=bank, q=query: [b.recall(q, 5) for _ in range(100)]) / 100
        print(f"Bank recall, {size:>6} entries: {per * 1e6:8.1f} us  (target <= 1000 us at 10,000)")
    deltas = [torch.randn(32, 16 * 9), torch.randn(64, 512)]
    svd = timed(lambda: [compress(d, energy=0.99) for d in deltas])
    print(f"SVD compression per task (2 layers): {svd * 1e3:.2f} ms")
    cli = timed(lambda: subprocess.run([sys.executable, "-m", "nsr_bench.cli", "--help"], check=True,
                                       capture_output=True), 5)
    print(f"nsr-bench --help: {cli:.3f} s  (target <= 1 s)")


if __name__ == "__main__":
    main()
