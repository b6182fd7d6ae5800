"""Pinned metrics of reference cells: a refactor that should not change behaviour must reproduce them.

``python -m tests.pinned`` rewrites ``tests/data/pinned_cells.json`` from the current code (do it only in
a commit that names why the numbers move); ``tests/test_pinned.py`` compares a fresh run with it.

Bit-for-bit equality holds only on one arithmetic platform: PyTorch and oneDNN pick their kernels by the
CPU's vector instructions (an AVX-512 and an AVX2 machine differ in the last bits of a convolution, and a
few steps later in a decision), and other library versions round differently, so the file records the
environment it was computed on (:func:`platform`). There the test demands bit-equality; elsewhere the
summary metrics must agree within :data:`TOLERANCE` (a decision that flips moves a curve, not a result).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

PINNED = Path(__file__).parent / "data" / "pinned_cells.json"
# the default run at full size, and every strategy in its tiny test configuration
DEFAULT_CELLS = [("digits_cyclic", s, False) for s in ("nsr", "fresh", "carry")]
METRICS = ("acc", "acc_agnostic", "bwt", "forgetting", "fwt", "recovery_steps_mean", "regret",
           "bank_mb_total", "task_id_acc")
THREADS = 1
TOLERANCE = {"acc": 0.05, "acc_agnostic": 0.05, "bwt": 0.05, "forgetting": 0.05, "fwt": 0.05, "task_id_acc": 0.05,
             "recovery_steps_mean": (0.5, 0.25), "regret": (0.5, 0.25), "bank_mb_total": (0.0, 0.10)}
"""Off the pinned platform: metric -> absolute tolerance, or (absolute, relative) added together."""


def compute(scenario: str, strategy: str, test: bool) -> dict:
    """Summary metrics and accuracy matrices of one cell, computed now (seed 0, CPU, one thread)."""
    from nsr_bench.execution import execute_cell
    from nsr_bench.resolution import resolve_cell

    cell = resolve_cell(scenario, strategy, seed=0, device="cpu", test=test, threads=THREADS, tuned=False)
    summary, _, rows, curve_rows, _ = execute_cell(cell)  # runs with the cell's own thread count
    matrix = [[r["mode"], r["experience"], r["task"], r["acc"]] for r in rows]
    return {"metrics": {k: summary[k] for k in METRICS}, "matrix": matrix,
            "curves": [c["acc"] for c in curve_rows]}


def platform() -> str:
    """The arithmetic platform, as a cell's identity records it: the CPU's name (architecture and vector
    capability) and the versions of the numeric libraries a cell imports."""
    from nsr_bench import identity, memo

    modules = identity.cell_modules("nsr_bench.strategies.nsr", "nsr_bench.scenarios.digits:digits_cyclic")
    libraries = " ".join(f"{k} {v}" for k, v in memo.library_versions(*modules).items())
    return f"{memo.device_name('cpu')} {libraries}"


def within(got: dict, want: dict) -> list[str]:
    """The metrics of ``got`` outside :data:`TOLERANCE` of ``want`` (None must stay None)."""
    out = []
    for k, tol in TOLERANCE.items():
        a, b = got[k], want[k]
        if a is None or b is None:
            if (a is None) != (b is None):
                out.append(f"{k}: {a} vs {b}")
            continue
        absolute, relative = tol if isinstance(tol, tuple) else (tol, 0.0)
        if not abs(a - b) <= absolute + relative * abs(b):
            out.append(f"{k}: {a:.4f} vs pinned {b:.4f} (tolerance {absolute} + {relative:.0%})")
    return out


def key(scenario: str, strategy: str, test: bool) -> str:
    return f"{scenario}|{strategy}|{'test' if test else 'full'}"


def same(a, b) -> bool:
    """Equal, with NaN equal to NaN (an accuracy-matrix cell before a task is seen)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main() -> None:
    import os
    import tempfile

    from nsr_bench import registry

    os.environ["NSR_CACHE_DIR"] = tempfile.mkdtemp(prefix="nsr-pin-")  # nothing cached by other runs

    cells = DEFAULT_CELLS + [("digits_cyclic", s, True) for s in sorted(registry.strategies())]
    pinned = {"platform": platform(), "cells": {key(*c): compute(*c) for c in cells}}
    PINNED.write_text(json.dumps(pinned, indent=0, sort_keys=True))
    print(f"wrote {PINNED} ({len(pinned['cells'])} cells on {pinned['platform']})")


if __name__ == "__main__":
    main()
