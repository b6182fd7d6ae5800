"""Where a cell's time goes: exclusive seconds per part of the work, measured by wrapping the functions
that do each part (restored afterwards; the cell's numbers are unchanged).

    python benchmarks/breakdown.py [SCENARIO] [STRATEGY ...] [--json]

Each wrapped call is timed, and its time minus that of the wrapped calls inside it goes to its part, so
the parts add up to the cell's wall time; ``other Python`` is what no wrapper covers (Avalanche's loop,
dataset adaptation, the recorder's bookkeeping, the summary).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTS = ("setup: scenario, targets, feature cache", "training steps", "recovery-curve evaluations",
         "end-of-experience evaluations", "allocation: task embedding, rule, probe",
         "compression and Bank write", "distillation teacher outputs", "Bank routing and loading (eval)",
         "Avalanche hook dispatch", "other Python")


class ExclusiveTimer:
    """Exclusive wall time per part: a call's time minus the time of the timed calls nested in it."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # per open call: [start, seconds of nested timed calls]

    def wrap(self, part_of, fn):
        """``fn`` timed into ``part_of(args, kwargs)`` (a part name, or None to leave it untimed)."""
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            part = part_of(args, kwargs)
            if part is None:
                return fn(*args, **kwargs)
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                elapsed = time.perf_counter() - start
                self.seconds[part] += elapsed - nested
                if self._stack:
                    self._stack[-1][1] += elapsed
        return timed


@contextmanager
def patched(timer: ExclusiveTimer):
    """Wrap the functions of every part for the block."""
    import avalanche.training.templates.base as av_base
    import avalanche.training.templates.base_sgd as av_sgd

    import nsr_bench.scenarios.feature_cache as feature_cache
    import nsr_bench.scenarios.targets as targets
    from nsr_bench.metrics.recorder import AccuracyRecorder
    from nsr_bench.plugins.adapter_allocation import AdapterAllocation
    from nsr_bench.plugins.bank_routing import BankRouting
    from nsr_bench.plugins.distillation import Distillation
    from nsr_bench.training.template import TensorTemplate

    def always(part):
        return lambda args, kwargs: part

    def training_only(args, kwargs):
        return "training steps" if args[0].is_training else None

    plan = [(targets, "dedicated_targets", always(PARTS[0])),
            (feature_cache, "apply_feature_cache", always(PARTS[0])),
            (TensorTemplate, "forward", training_only), (TensorTemplate, "criterion", training_only),
            (TensorTemplate, "backward", always("training steps")),
            (TensorTemplate, "optimizer_step", always("training steps")),
            (AccuracyRecorder, "_point", always(PARTS[2])), (TensorTemplate, "eval", always(PARTS[3])),
            (AdapterAllocation, "before_training_exp", always(PARTS[4])),
            (AdapterAllocation, "_reserve", always(PARTS[5])), (Distillation, "_precompute", always(PARTS[6])),
            (BankRouting, "_route_samples", always(PARTS[7])), (BankRouting, "_load", always(PARTS[7])),
            (av_base, "trigger_plugins", always(PARTS[8])), (av_sgd, "trigger_plugins", always(PARTS[8]))]
    with ExitStack() as stack:
        for owner, name, part_of in plan:
            if name in vars(owner):
                stack.callback(setattr, owner, name, vars(owner)[name])
            else:  # inherited: removing the wrapper restores it
                stack.callback(delattr, owner, name)
            setattr(owner, name, timer.wrap(part_of, getattr(owner, name)))
        yield


def builder_wrapped(timer: ExclusiveTimer, cell):
    """The cell's scenario builder, timed as set-up."""
    from nsr_bench.registry import resolve

    return timer.wrap(lambda a, k: PARTS[0], resolve(cell.builder))


def breakdown(cell) -> dict[str, float]:
    """Run ``cell`` (nothing stored) and return its exclusive seconds per part plus ``total``."""
    import importlib

    from nsr_bench.execution import execute_cell

    timer = ExclusiveTimer()
    module_name, _, attr = cell.builder.partition(":")
    module = importlib.import_module(module_name)
    original = getattr(module, attr)
    setattr(module, attr, builder_wrapped(timer, cell))
    try:
        with patched(timer):
            start = time.perf_counter()
            execute_cell(cell)
            total = time.perf_counter() - start
    finally:
        setattr(module, attr, original)
    parts = {p: timer.seconds.get(p, 0.0) for p in PARTS[:-1]}
    parts["other Python"] = total - sum(parts.values())
    return {**parts, "total": total}


def main() -> None:
    from nsr_bench.resolution import resolve_cell

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="split_cifar10_cyclic")
    parser.add_argument("strategies", nargs="*", default=["nsr", "carry", "rl"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {s: breakdown(resolve_cell(args.scenario, s, 0, args.device)) for s in args.strategies}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'part (exclusive seconds)':42s}" + "".join(f"{s:>10s}" for s in results))
    for part in [*PARTS, "total"]:
        print(f"{part:42s}" + "".join(f"{r[part]:10.2f}" for r in results.values()))


if __name__ == "__main__":
    main()
