"""BankRouting: oracle and agnostic evaluation through the Bank, with the live adapter restored."""

import pytest
import torch

from nsr_bench.plugins.bank_routing import BankRouting
from tests.plugins.helpers import make_strategy, nsr_plugins, plugin_of


@pytest.fixture(scope="module")
def trained(tiny_scenario):
    model, strategy, recorder = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario))
    bm = tiny_scenario.benchmark()
    for exp in bm.train_stream:
        strategy.train(exp, num_workers=0)
    return model, strategy, recorder, bm


def test_oracle_and_agnostic_inference_use_the_bank(trained):
    _, strategy, recorder, bm = trained
    for mode in ("oracle", "agnostic"):
        strategy.eval(bm.test_stream, num_workers=0, mode=mode)
    oracle, agnostic = recorder.rows["oracle"][-1], recorder.rows["agnostic"][-1]
    assert len(oracle) == 3 and sum(oracle) / 3 > 0.8
    assert plugin_of(strategy, BankRouting).report().summary["routing_acc"] == 1.0
    assert agnostic == oracle  # perfect routing loads the same entries


def test_eval_restores_the_active_adapter(trained):
    model, strategy, _, bm = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for mode in ("oracle", "agnostic"):
        strategy.eval(bm.test_stream, num_workers=0, mode=mode)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
