"""Every strategy spec runs end to end; each baseline shows its distinguishing behaviour."""

import copy

import pytest
import torch

from nsr_bench import registry
from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.resolution import resolve_cell
from nsr_bench.results.store import ResultsStore
from nsr_bench.runner import run_cell
from nsr_bench.strategies.contract import BuildContext


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ResultsStore(tmp_path_factory.mktemp("strategies"))


@pytest.mark.parametrize("name", sorted(registry.strategies()))
def test_every_strategy_runs_on_the_embedded_scenario(name, store):
    summary = run_cell(resolve_cell("digits_cyclic", name, seed=0, device="cpu", test=True), store)
    assert 0.0 <= summary["acc"] <= 1.0 and summary["recovery_steps_mean"] is not None


def test_agem_with_fewer_reference_samples_than_buffers_still_trains(store):
    """Avalanche's A-GEM splits sample_size over the buffers (1 // 2 = 0 samples each fails its loader);
    ours then takes one sample per buffer (found by a sweep drawing agem_sample_size below the task count)."""
    summary = run_cell(resolve_cell("digits_cyclic", "agem[agem_sample_size=1]", 0, "cpu", test=True), store)
    assert summary["acc"] > 0.5


def test_naive_is_exactly_carry(store):
    naive, carry = (run_cell(resolve_cell("digits_cyclic", n, 0, "cpu", test=True), store)
                    for n in ("naive", "carry"))
    for key in ("acc", "bwt", "forgetting", "recovery_steps_mean", "regret"):
        assert naive[key] == carry[key]


def trained(tiny_scenario, method, params=None, experiences=None):
    """Train a baseline (a method file of nsr_bench.strategies) on the tiny stream; return its plugins."""
    from avalanche.training.templates import SupervisedTemplate

    torch.manual_seed(0)
    model = AdapterNet(copy.deepcopy(tiny_scenario.backbone), tiny_scenario.num_classes,
                       tiny_scenario.task_classes())
    impl = registry.resolve(f"nsr_bench.strategies.{method}")
    plugins = impl.build(impl.Params(**(params or {})), BuildContext(model, tiny_scenario, 0, "cpu"))
    strategy = SupervisedTemplate(model=model, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                                  criterion=torch.nn.CrossEntropyLoss(), train_mb_size=16, train_epochs=1,
                                  plugins=plugins, evaluator=None)
    for exp in list(tiny_scenario.benchmark().train_stream)[:experiences]:
        strategy.train(exp, num_workers=0)
    return model, plugins[-1], strategy


def test_ewc_penalty_is_nonzero_after_the_first_task(tiny_scenario):
    _, ewc, strategy = trained(tiny_scenario, "ewc", {"keyed_by": "task"}, experiences=2)
    strategy.loss = torch.zeros(())
    strategy.experience = list(tiny_scenario.benchmark().train_stream)[2]
    ewc.before_backward(strategy)
    assert strategy.loss.item() > 0


def test_task_keyed_state_does_not_grow_on_recurrence(tiny_scenario):
    """6 experiences over 3 tasks: stock plugins keep 6 entries, task-keyed ones keep 3."""
    _, gem_stock, _ = trained(tiny_scenario, "gem")
    _, gem_task, _ = trained(tiny_scenario, "gem", {"keyed_by": "task"})
    assert len(gem_stock.memory_x) == 6 and len(gem_task.memory_x) == 3
    _, ewc_task, _ = trained(tiny_scenario, "ewc", {"keyed_by": "task"})
    assert sorted(ewc_task.importances) == [0, 1, 2] and sorted(ewc_task.saved_params) == [0, 1, 2]
    _, cumulative, _ = trained(tiny_scenario, "cumulative", {"keyed_by": "task"})
    assert sorted(cumulative.stored) == [0, 1, 2]


def test_si_accumulates_importance_on_cpu(tiny_scenario):
    """Regression test for Avalanche 0.6's SI, whose snapshots are views on CPU (importance 0)."""
    _, si, _ = trained(tiny_scenario, "si", experiences=2)
    assert sum(float(v.data.abs().sum()) for v in si.ewc_data[1].values()) > 0


def test_ncm_head_holds_class_means_and_never_trains(tiny_scenario):
    from nsr_bench.nsr.embed import frozen_features

    model, _, _ = trained(tiny_scenario, "ncm", experiences=4)
    task = tiny_scenario.order[0]  # trained at experiences 0 and 3, on two draws of its pool
    x, y = (torch.cat(d) for d in zip(*tiny_scenario.train_data[0:4:3], strict=True))
    feats = frozen_features(model, x)
    for c in tiny_scenario.tasks[task].classes:
        mean = feats[y == c].mean(0)  # the running mean over every sample seen
        assert torch.allclose(model.head.weight[c], 2 * mean, atol=1e-4)
        assert torch.allclose(model.head.bias[c], -(mean**2).sum(), atol=1e-4)
    assert all(not p.requires_grad for p in model.features.parameters())


def test_whole_network_trains_the_backbone(tiny_scenario):
    before = copy.deepcopy(tiny_scenario.backbone.state_dict())
    model, _, _ = trained(tiny_scenario, "naive", {"whole_network": True}, experiences=1)
    assert not any(n for n, _ in model.named_modules() if "lora" in n.lower())
    assert any(not torch.equal(before[k], v) for k, v in model.features.state_dict().items())


@pytest.mark.parametrize("selector", ["si[keyed_by=task]", "ncm[whole_network=true]", "lwf[keyed_by=task]"])
def test_impossible_combinations_are_rejected(selector):
    from nsr_bench.config import SpecError

    with pytest.raises(SpecError, match="unknown key"):
        resolve_cell("digits_cyclic", selector, 0, "cpu")
