"""Shared fixtures: a private backbone cache, a tiny digits scenario and a small results store of real tiny
cells (CPU, no downloads)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NSR_CACHE_DIR", str(tmp_path_factory.mktemp("nsr-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def tiny_scenario(_private_cache):
    from nsr_bench.scenarios.digits import digits_cyclic

    return digits_cyclic(tasks=3, cycles=2, samples_per_class=40, pretrain_epochs=3, seed=0)


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """Real tiny cells: NSR (two caps) and fresh over two seeds, plus a 3-trial sweep."""
    from nsr_bench.hpo.sweep import sweep
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore
    from nsr_bench.runner import run_cell

    store = ResultsStore(tmp_path_factory.mktemp("small-results"))
    for strategy in ("nsr", "nsr[cap=1]", "fresh"):
        for seed in (0, 1):
            run_cell(resolve_cell("digits_cyclic", strategy, seed, "cpu", test=True), store)
    # another sampler seed than the one carry's `best` came from: TPE's first (random) trials repeat per seed,
    # and a trial at the tuned settings is the tuned carry cell, which the figures rightly select
    sweep("carry", "digits_cyclic", 3, store, pruner="none", test=True, sampler_seed=7)
    return store
