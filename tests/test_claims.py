"""The paper's central effect on the embedded scenario, measured the way `nsr-bench run` measures it.

These tests assert what the suite observed on CPU, not the paper's numbers: if a change breaks
recall, routing or the recovery metric, they fail.
"""

import pytest

from nsr_bench.resolution import resolve_cell
from nsr_bench.results.store import ResultsStore
from nsr_bench.runner import run_cell


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("claims"))
    return {name: run_cell(resolve_cell("digits_cyclic[cycles=2,pretrain_epochs=10]", name, seed=0,
                                        device="cpu", tuned=False), store)
            for name in ("nsr", "fresh")}


def test_bank_recovers_recurring_tasks_faster_than_fresh(summaries):
    nsr, fresh = summaries["nsr"], summaries["fresh"]
    assert nsr["recovery_steps_mean"] <= 0.5
    assert fresh["recovery_steps_mean"] >= 2.0
    assert nsr["regret"] < fresh["regret"]


def test_bank_inference_keeps_old_tasks(summaries):
    nsr, fresh = summaries["nsr"], summaries["fresh"]
    assert nsr["acc"] > 0.9 and nsr["forgetting"] < 0.05 < fresh["forgetting"]
    # per-sample routing without task ids: better than chance (1 in 5 tasks), far from perfect here
    assert 0.3 < nsr["task_id_acc"] < 1.0
