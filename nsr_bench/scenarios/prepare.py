"""Pay a scenario's one-off costs ahead of a matrix: archive extraction and backbone pre-training.

Both are cached per machine (``$NSR_CACHE_DIR``) and filled under a file lock, so parallel workers never
repeat them; preparing first just takes them off the workers' clock. The backbone's cache key includes
the torch thread count it was trained with (CPU arithmetic differs by thread count), so a scenario is
prepared for the thread count the matrix's cells will run with (``matrix -j N``: the per-worker count).
"""

from __future__ import annotations

import time

from nsr_bench.identity import torch_threads


def prepare(selector: str, threads: int, device: str = "cpu") -> dict:
    """Build ``selector``'s scenario (seed 0, its parameters) with ``threads`` torch threads, filling the
    data and backbone caches; returns the seconds it took and whether the backbone came from the cache."""
    from nsr_bench.registry import resolve
    from nsr_bench.resolution import resolve_cell

    cell = resolve_cell(selector, "fresh", 0, device, threads=threads)
    start = time.perf_counter()
    with torch_threads(threads):
        scenario = resolve(cell.builder)(**cell.scenario_params, seed=0, device=cell.device)
    backbone = scenario.info.get("backbone", {})
    return {"scenario": selector, "threads": threads, "seconds": round(time.perf_counter() - start, 2),
            "backbone_cached": backbone.get("loaded_from_cache")}
