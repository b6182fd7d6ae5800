"""NSRPlugin inside a stock Avalanche SupervisedTemplate on the tiny digits stream."""

import copy
import warnings

import pytest
import torch

from nsr_bench.nsr.allocation import SimilarityRule
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.distill import kd_loss
from nsr_bench.nsr.plugin import NSRPlugin
from nsr_bench.scenarios.backbones import AdapterNet


def make_strategy(scenario, plugin_kwargs=None, fast=False):
    """NSR in Avalanche's stock template, or in ours (``fast``: tensor loader, precomputed teacher)."""
    from avalanche.evaluation.metrics import accuracy_metrics
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.templates import SupervisedTemplate

    from nsr_bench.training.template import TensorTemplate

    torch.manual_seed(0)
    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes)
    plugin = NSRPlugin(SimilarityRule(), TaskKnowledgeBank(cap=10), model.lora_targets, rank=2,
                       embed_samples=64, reference=scenario.reference, **(plugin_kwargs or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator = EvaluationPlugin(accuracy_metrics(experience=True), loggers=[])
    template = TensorTemplate if fast else SupervisedTemplate
    strategy = template(model=model, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                        criterion=torch.nn.CrossEntropyLoss(), train_mb_size=16, train_epochs=2,
                        eval_mb_size=256, device="cpu", plugins=[plugin], evaluator=evaluator)
    return model, plugin, strategy


@pytest.fixture(scope="module")
def trained(tiny_scenario):
    model, plugin, strategy = make_strategy(tiny_scenario)
    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    bm = tiny_scenario.benchmark()
    for exp in bm.train_stream:
        strategy.train(exp, num_workers=0)
    return model, plugin, strategy, bm, frozen_before


def test_backbone_is_unchanged_by_training(trained):
    model, plugin, _, _, frozen_before = trained
    assert len(frozen_before) == 6  # conv1, conv2, fc: weight and bias each
    for name, p in model.named_parameters():
        if name in frozen_before:
            assert torch.equal(p, frozen_before[name]), name
    assert any(layer.lora_B.abs().sum() > 0 for layer in plugin.layers.values())


def test_adapters_are_in_the_optimizer(trained):
    _, plugin, strategy, _, _ = trained
    optimized = {id(p) for g in strategy.optimizer.param_groups for p in g["params"]}
    adapters = [p for layer in plugin.layers.values() for p in (layer.lora_A, layer.lora_B)]
    assert len(adapters) == 4 and all(id(p) in optimized for p in adapters)


def test_recurring_tasks_recall_their_own_entry(trained, tiny_scenario):
    _, plugin, _, _, _ = trained
    decisions = plugin.decisions
    assert [d["task"] for d in decisions] == tiny_scenario.order
    for d in decisions[3:]:
        assert d["action"] == "recall", d
        assert d["task"] in d["entry_tasks"][0]
    assert len(plugin.bank) == 3  # recurrences update their entry instead of adding one
    assert sorted(t for e in plugin.bank.entries.values() for t in e.meta.tasks) == [0, 1, 2]


def test_oracle_and_agnostic_inference_use_the_bank(trained):
    _, plugin, strategy, bm, _ = trained
    results = {}
    for mode in ("oracle", "agnostic"):
        plugin.inference = mode
        res = strategy.eval(bm.test_stream, num_workers=0)
        results[mode] = [v for k, v in res.items() if k.startswith("Top1_Acc_Exp/eval_phase/test_stream")]
    assert len(results["oracle"]) == 3 and sum(results["oracle"]) / 3 > 0.8
    assert plugin.routing_accuracy() == 1.0
    assert results["agnostic"] == results["oracle"]  # perfect routing loads the same entries


def test_eval_restores_the_active_adapter(trained):
    model, _plugin, strategy, bm, _ = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    strategy.eval(bm.test_stream, num_workers=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_similarity_rule_without_bank_is_rejected():
    with pytest.raises(ValueError, match="switch the Bank on"):
        NSRPlugin(SimilarityRule(), None, ["features.fc"])


def test_distillation_loss_is_zero_for_identical_logits_and_positive_otherwise():
    logits = torch.randn(4, 6)
    assert kd_loss(logits, logits, [0, 1, 2]).item() == pytest.approx(0.0, abs=1e-6)
    assert kd_loss(logits, torch.randn(4, 6), [0, 1, 2]).item() > 0
    assert kd_loss(logits, torch.randn(4, 6), []).item() == 0.0
    other = logits.clone()
    other[:, 5] += 10  # only a non-protected class differs
    assert kd_loss(logits, other, [0, 1, 2]).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("fast", [False, True])
def test_distillation_keeps_prior_outputs_close_to_the_teacher(tiny_scenario, fast):
    """After a new task, the KD divergence on the transfer set (the new task's data) between the
    model and its pre-experience copy is smaller with distillation than without (shared head, where
    the new task's loss pushes the prior logits down)."""
    divergence = {}
    prior = tiny_scenario.tasks[0].classes
    x1 = tiny_scenario.tasks[1].x_train
    for lam in (0.0, 1.0):
        model, plugin, strategy = make_strategy(tiny_scenario, {"distill_lambda": lam, "mask": False}, fast)
        plugin.rule = SimilarityRule(tau_recall=1.0, tau_related=-1.0)  # always warm-start by merging
        bm = tiny_scenario.benchmark()
        strategy.train(bm.train_stream[0], num_workers=0)
        with torch.no_grad():
            teacher = model(x1)
        strategy.train(bm.train_stream[1], num_workers=0)
        with torch.no_grad():
            divergence[lam] = kd_loss(model(x1), teacher, prior).item()
    assert divergence[1.0] < 0.5 * divergence[0.0]
