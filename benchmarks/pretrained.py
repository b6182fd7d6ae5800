"""EfficientNet-Lite0 against the small CNN on the same cell: warm cell time ratio, cold-start costs, ACC.

    python benchmarks/pretrained.py [--strategy ncm carry] [--scenario-params k=v,...] [--params k=v,...] [--json]

Needs ``NSR_DATA_ROOT`` (CIFAR-10); ``--scenario-params`` apply to both cells (e.g. smaller sizes), ``--params``
to the EfficientNet-Lite0 cell only (``input_size``, ``lora_blocks``). Runs in a fresh cache folder
(``NSR_CACHE_DIR`` is replaced by a temporary one), so the first execution of each cell is cold: it times the
weights conversion, the frozen-prefix feature extraction and the dedicated-adapter targets apart, then executes
both cells once more warm (interleaved, nothing stored) and prints the warm time of each, their ratio (target <=
3) and each cell's task-incremental ACC (target >= 0.85 for the frozen NCM on EfficientNet-Lite0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIO = "split_cifar10_cyclic"


@contextmanager
def timing(spent: dict[str, float], **targets: tuple[object, str]):
    """Add the seconds spent in each ``module.attribute`` (name -> (module, attribute)) to ``spent``."""
    saved = {name: getattr(module, attr) for name, (module, attr) in targets.items()}

    def wrap(name, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return timed

    for name, (module, attr) in targets.items():
        setattr(module, attr, wrap(name, saved[name]))
    try:
        yield
    finally:
        for name, (module, attr) in targets.items():
            setattr(module, attr, saved[name])


def run(strategies: list[str], shared: str, params: str) -> dict:
    from nsr_bench.execution import execute_cell
    from nsr_bench.models import efficientnet_lite
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.scenarios import feature_cache, targets

    small = f"{SCENARIO}[{shared}]" if shared else SCENARIO
    lite = f"{SCENARIO}[{','.join(filter(None, [shared, 'backbone=efficientnet_lite0', params]))}]"
    cells = {(strategy, name): resolve_cell(scenario, strategy, 0, "cpu") for strategy in strategies
             for name, scenario in (("small_cnn", small), ("efficientnet_lite0", lite))}
    start = time.perf_counter()
    efficientnet_lite.published_weights()
    out: dict = {"conversion_s": round(time.perf_counter() - start, 2), "cold": {}, "warm": {}, "acc": {}}
    for key, cell in cells.items():
        name = "/".join(key)
        spent: dict[str, float] = defaultdict(float)
        with timing(spent, prefix=(feature_cache, "apply_feature_cache"), targets=(targets, "dedicated_targets")):
            start = time.perf_counter()
            summary = execute_cell(cell)[0]
            spent["total"] = time.perf_counter() - start
        out["cold"][name] = {k: round(v, 2) for k, v in spent.items()}
        out["acc"][name] = round(summary["acc"], 4)
    for key, cell in cells.items():
        start = time.perf_counter()
        execute_cell(cell)
        out["warm"]["/".join(key)] = round(time.perf_counter() - start, 2)
    out["ratio"] = {s: round(out["warm"][f"{s}/efficientnet_lite0"] / out["warm"][f"{s}/small_cnn"], 2)
                    for s in strategies}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", nargs="+", default=["ncm", "carry"])
    parser.add_argument("--scenario-params", default="", help="parameters of both cells' scenario, k=v,...")
    parser.add_argument("--params", default="", help="EfficientNet-Lite0 scenario parameters, k=v,...")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nsr-pretrained-") as cache:
        os.environ["NSR_CACHE_DIR"] = cache
        result = run(args.strategy, args.scenario_params, args.params)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{SCENARIO}[{args.scenario_params}], seed 0, CPU ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}):")
    print(f"  weights conversion (cold, once per machine): {result['conversion_s']:.2f} s")
    for name in result["warm"]:
        cold = result["cold"][name]
        print(f"  {name:24s} ACC {result['acc'][name]:.4f}  warm {result['warm'][name]:7.2f} s  cold "
              f"{cold['total']:7.2f} s (prefix features {cold.get('prefix', 0):.2f} s, targets "
              f"{cold.get('targets', 0):.2f} s)")
    for strategy, ratio in result["ratio"].items():
        print(f"  {strategy}: warm cell time ratio efficientnet_lite0 / small_cnn {ratio:.2f}  (target <= 3)")


if __name__ == "__main__":
    main()
