"""Measure the performance targets as ratios in one run on this machine, and print a table.

    python benchmarks/ratios.py [training|bank|cli|cache|cell ...] [--real] [--json]

Each timed function runs ``REPEATS`` times, interleaved, after one warm-up; the median is used.
The feature-cache factor times the default cells with ``NSR_FEATURE_CACHE=0`` against a warm cache,
on the default targets and with adapters only in the last layer; ``--real`` adds the reduced
ResNet-18 on cyclic Split-CIFAR-10 (needs ``NSR_DATA_ROOT``). ``cell`` times whole cells of ``carry`` and
``nsr`` (the default digits cells, or with ``--real`` the default cyclic Split-CIFAR-10 cells) against their
bare-PyTorch reference (:mod:`benchmarks.bare_cell`), interleaved; ``--json`` prints only that, as
``{strategy: {"ratio", "ours_s", "bare_s"}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks import common
from benchmarks.test_bench import filled_bank
from nsr_bench.nsr.compress import compress, compress_factors

REPEATS = 7  # of the micro-benchmarks


def timed(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training(repeats: int = 11) -> None:
    """One experience of each loop, ``repeats`` times interleaved; per experience and per step."""
    sc = common.scenario()
    loops = {"bare PyTorch loop": common.bare_loop(sc), "plain LoRA (our loop)": common.lora_strategy(sc),
             "NSR (Bank, distillation)": common.nsr_strategy(sc),
             "NSR (Bank, no distillation)": common.nsr_strategy(sc, 0.0)}
    for fn in loops.values():
        fn()  # warm-up
    samples: dict[str, list[float]] = {k: [] for k in loops}
    for _ in range(repeats):  # interleaved, so drifts of the machine hit all equally
        for name, fn in loops.items():
            samples[name].append(timed(fn, 1))
    exp = {k: statistics.median(v) for k, v in samples.items()}
    step = {k: statistics.median(fn.steps) for k, fn in loops.items()}
    n = common.EPOCHS * len(sc.train_data[1][1])
    print(f"training one experience ({n} samples, {common.EPOCHS} epochs, batch {common.BATCH}), "
          f"medians of {repeats}:")
    print(f"  {'loop':30s} {'experience':>10s} {'samples/s':>9s} {'step':>8s} {'fixed/exp':>9s}")
    for name, fn in loops.items():
        steps_per_exp = len(fn.steps) / (repeats + 1)
        fixed = exp[name] - step[name] * steps_per_exp
        print(f"  {name:30s} {exp[name] * 1e3:8.1f}ms {n / exp[name]:9.0f} {step[name] * 1e3:6.3f}ms "
              f"{fixed * 1e3:7.1f}ms")
    lora, nsr, bare = "plain LoRA (our loop)", "NSR (Bank, distillation)", "bare PyTorch loop"
    print(f"  ratio our loop / bare loop, per experience {exp[lora] / exp[bare]:.2f}, per step "
          f"{step[lora] / step[bare]:.2f}  (target <= 1.15)")
    print(f"  ratio NSR / plain LoRA, per step {step[nsr] / step[lora]:.2f}  (target <= 1.05), per experience "
          f"{exp[nsr] / exp[lora]:.2f}; without distillation per step "
          f"{step['NSR (Bank, no distillation)'] / step[lora]:.2f}")


def bank_and_svd() -> None:
    for size in (10, 1_000, 10_000):
        bank = filled_bank(size)
        query = torch.randn(64)
        per = timed(lambda b=bank, q=query: [b.recall(q, 5) for _ in range(100)]) / 100
        print(f"Bank recall, {size:>6} entries: {per * 1e6:8.1f} us  (target <= 1000 us at 10,000)")
    factors = [(torch.randn(32, 4), torch.randn(4, 16 * 9)), (torch.randn(64, 4), torch.randn(4, 512))]
    dense = timed(lambda: [compress(left @ right, energy=0.99) for left, right in factors])
    lowrank = timed(lambda: [compress_factors(left, right, (len(left), right.shape[1]), 0.99)
                             for left, right in factors])
    print(f"SVD compression per task (2 layers): dense {dense * 1e3:.2f} ms, low-rank {lowrank * 1e3:.2f} ms")


def cli() -> None:
    seconds = timed(lambda: subprocess.run([sys.executable, "-m", "nsr_bench.cli", "--help"], check=True,
                                           capture_output=True), 5)
    print(f"nsr-bench --help: {seconds:.3f} s  (target <= 1 s)")


def feature_cache(real: bool) -> None:
    """Default cells with the cache off vs warm, best of 2 interleaved runs each."""
    settings = [("digits_cyclic", common.DEFAULT_CELLS, "default cells (adapters in conv2 and fc)"),
                ("digits_cyclic", tuple(f"{n}[targets=[features.fc]]" for n in common.DEFAULT_CELLS),
                 "default cells, adapters in fc only")]
    if real:
        settings.append(("split_cifar10_cyclic[backbone=resnet18_reduced,samples_per_class=100,test_per_class=50,"
                         "pretrain_epochs=2]", ("nsr",), "nsr on Split-CIFAR-10, reduced ResNet-18"))
    for scenario, cells, label in settings:
        os.environ["NSR_FEATURE_CACHE"] = "1"
        common.default_cells_seconds(cells, scenario)  # fills the cache (and the backbone cache)
        runs = {"0": [], "1": []}
        for _ in range(2):
            for flag in runs:
                os.environ["NSR_FEATURE_CACHE"] = flag
                runs[flag].append(common.default_cells_seconds(cells, scenario))
        off, on = min(runs["0"]), min(runs["1"])
        print(f"feature cache, {label}: {off:.2f} s -> {on:.2f} s, factor {off / on:.2f}  (target >= 3)")


CELL_STRATEGIES = ("carry", "nsr")
"""The strategies the cell ratio covers (their bare reference runs with each cell's own parameters)."""


def cell_ratios(real: bool, repeats: int = 1) -> dict[str, dict[str, float]]:
    """Our whole cell vs its bare-PyTorch reference, per strategy, interleaved ``repeats`` times (medians);
    caches (data, backbone, targets, features) are warmed first and nothing is stored."""
    from benchmarks.bare_cell import bare_cell
    from nsr_bench.execution import execute_cell
    from nsr_bench.resolution import resolve_cell

    scenario = "split_cifar10_cyclic" if real else "digits_cyclic"
    cells = {name: resolve_cell(scenario, name, 0, "cpu") for name in CELL_STRATEGIES}
    execute_cell(cells["carry"])  # warms every cache both sides read
    times: dict[str, dict[str, list[float]]] = {n: {"ours": [], "bare": []} for n in cells}
    for _ in range(repeats):
        for name, cell in cells.items():
            times[name]["ours"].append(timed(lambda c=cell: execute_cell(c), 1))
            with torch.random.fork_rng():
                times[name]["bare"].append(timed(lambda c=cell: bare_cell(c), 1))
    result = {}
    for name, t in times.items():
        ours, bare = statistics.median(t["ours"]), statistics.median(t["bare"])
        result[name] = {"ratio": round(ours / bare, 3), "ours_s": round(ours, 2), "bare_s": round(bare, 2)}
    return result


def cell(real: bool, as_json: bool = False) -> None:
    result = cell_ratios(real)
    if as_json:
        print(json.dumps(result))
        return
    for name, r in result.items():
        goal = {"carry": 1.3, "nsr": 1.4}[name]
        print(f"cell {name} ({'Split-CIFAR-10' if real else 'digits'}): ours {r['ours_s']:.2f} s, bare PyTorch "
              f"{r['bare_s']:.2f} s, ratio {r['ratio']:.2f}  (target <= {goal})")


SECTIONS = {"training": training, "bank": bank_and_svd, "cli": cli}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, "cache", "cell"], help="default: all")
    parser.add_argument("--real", action="store_true", help="real data: the ResNet-18 cache setting, the "
                        "Split-CIFAR-10 cells")
    parser.add_argument("--json", action="store_true", help="print the cell ratios as JSON (cell only)")
    args = parser.parse_args()
    chosen = args.sections or [*SECTIONS, "cache", "cell"]
    if args.json and chosen != ["cell"]:
        parser.error("--json prints the cell ratios only: use `ratios.py cell [--real] --json`")
    for name in chosen:
        if name == "cache":
            feature_cache(args.real)
        elif name == "cell":
            cell(args.real, args.json)
        else:
            SECTIONS[name]()


if __name__ == "__main__":
    main()
