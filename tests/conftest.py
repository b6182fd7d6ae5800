"""Shared fixtures: a private backbone cache and a tiny digits scenario (CPU, no downloads)."""

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
