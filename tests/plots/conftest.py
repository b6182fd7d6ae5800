import pytest


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """Real tiny cells: NSR (two caps) and fresh over two seeds, plus a 3-trial sweep."""
    from nsr_bench.hpo.sweep import sweep
    from nsr_bench.results.store import ResultsStore
    from nsr_bench.runner import resolve_cell, run_cell

    store = ResultsStore(tmp_path_factory.mktemp("small-results"))
    for strategy in ("nsr", "nsr[cap=1]", "fresh"):
        for seed in (0, 1):
            run_cell(resolve_cell("digits_cyclic", strategy, seed, "cpu", test=True), store)
    # another sampler seed than the one carry's `best` came from: TPE's first (random) trials repeat per seed,
    # and a trial at the tuned settings is the tuned carry cell, which the figures rightly select
    sweep("carry", "digits_cyclic", 3, store, pruner="none", test=True, sampler_seed=7)
    return store
