"""AdapterAllocation on the tiny digits stream: adapters trained, tasks recalled, slots kept."""

import copy

import pytest
import torch

from nsr_bench.nsr.allocation import Decision, SimilarityRule
from nsr_bench.plugins.adapter_allocation import AdapterAllocation
from nsr_bench.strategies.round_robin import RoundRobin
from tests.plugins.helpers import make_strategy, nsr_plugins, plugin_of


@pytest.fixture(scope="module", params=[False, True], ids=["ours", "stock-avalanche"])
def trained(request, tiny_scenario):
    model, strategy, _ = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario), stock=request.param)
    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    for exp in tiny_scenario.benchmark().train_stream:
        strategy.train(exp, num_workers=0)
    return model, plugin_of(strategy, AdapterAllocation), strategy, frozen_before


def test_backbone_is_unchanged_by_training(trained):
    model, plugin, _, frozen_before = trained
    assert len(frozen_before) == 6  # conv1, conv2, fc: weight and bias each
    for name, p in model.named_parameters():
        if name in frozen_before:
            assert torch.equal(p, frozen_before[name]), name
    assert any(layer.lora_B.abs().sum() > 0 for layer in plugin.adapter.layers.values())


def test_adapters_are_in_the_optimizer(trained):
    _, plugin, strategy, _ = trained
    optimized = {id(p) for g in strategy.optimizer.param_groups for p in g["params"]}
    adapters = [p for layer in plugin.adapter.layers.values() for p in (layer.lora_A, layer.lora_B)]
    assert len(adapters) == 4 and all(id(p) in optimized for p in adapters)


def test_recurring_tasks_recall_their_own_entry(trained, tiny_scenario):
    _, plugin, _, _ = trained
    decisions = plugin.decisions
    assert [d["task"] for d in decisions] == tiny_scenario.order
    for d in decisions[3:]:  # a new draw of the task's data: its own entry is the nearest one
        assert d["action"] in ("recall", "merge"), d
        assert d["task"] in d["entry_tasks"][0] and d["similarity"] > 0.5
    recalled = sum(d["action"] == "recall" for d in decisions)
    assert len(plugin.bank) == 3 + len(decisions[3:]) - recalled  # a recall updates its entry in place


def test_report_carries_decisions_bank_and_its_bytes(trained):
    _, plugin, _, _ = trained
    report = plugin.report()
    assert report.manifest["decisions"] == plugin.decisions
    assert report.retained_bytes == plugin.bank.nbytes > 0
    assert report.summary["bank_mb_total"] == pytest.approx(plugin.bank.nbytes / 1e6)
    assert report.summary["evicted_tasks"] == []
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    stored = TaskKnowledgeBank.from_bytes(report.artifacts["bank"])
    assert sorted(stored.entries) == sorted(plugin.bank.entries)


def test_a_recalling_rule_without_bank_is_rejected():
    with pytest.raises(ValueError, match="switch the Bank on"):
        AdapterAllocation(SimilarityRule(), None, ["features.fc"])


def round_robin(scenario, bank: bool):
    def plugins(model):
        from nsr_bench.nsr.bank import TaskKnowledgeBank

        return [AdapterAllocation(RoundRobin(slots=2), TaskKnowledgeBank() if bank else None, model.lora_targets,
                                  rank=2, embed_samples=32, reference=scenario.reference)]
    _, strategy, _ = make_strategy(scenario, plugins)
    return plugin_of(strategy, AdapterAllocation), strategy


def test_slot_rules_run_with_the_bank_on(tiny_scenario):
    """Slot indices are not Bank ids: with the Bank on, entries are reserved and slots still used."""
    plugin, strategy = round_robin(tiny_scenario, bank=True)
    for exp in list(tiny_scenario.benchmark().train_stream)[:3]:
        strategy.train(exp, num_workers=0)
    assert [d["entries"] for d in plugin.decisions] == [[0], [1], [0]]
    assert len(plugin.bank) == 3 and sorted(plugin.slots) == [0, 1]
    assert plugin.report().retained_bytes > plugin.bank.nbytes  # the slots are memory too


def test_round_robin_overwrites_the_oldest_slot(tiny_scenario):
    """With 2 slots, experience 2 (task 2) loads slot 0 (task 0's adapter) and overwrites it."""
    plugin, strategy = round_robin(tiny_scenario, bank=False)
    snapshots = []
    for exp in list(tiny_scenario.benchmark().train_stream)[:3]:
        strategy.train(exp, num_workers=0)
        snapshots.append({k: v.clone() for k, v in plugin.slots.get(0, {}).items()})
    assert sorted(plugin.slots) == [0, 1]
    assert all(torch.equal(snapshots[0][k], snapshots[1][k]) for k in snapshots[0])  # exp 1 used slot 1
    assert not torch.equal(snapshots[1]["head.weight"], snapshots[2]["head.weight"])  # exp 2 overwrote 0
    assert [d["action"] for d in plugin.decisions] == ["slot"] * 3
    slot_bytes = sum(t.numel() * t.element_size() for s in plugin.slots.values() for t in s.values())
    assert plugin.report().retained_bytes == slot_bytes > 0


def test_a_fresh_adapter_resets_only_the_given_head_rows(tiny_scenario):
    from nsr_bench.models.adapter_net import AdapterNet
    from nsr_bench.nsr.adapters import ActiveAdapter

    backbone = copy.deepcopy(tiny_scenario.backbone)  # attaching adapters changes the module in place
    model = AdapterNet(backbone, tiny_scenario.num_classes, tiny_scenario.task_classes())
    adapter = ActiveAdapter.attach(model, model.lora_targets, 2, 4.0)
    before = adapter.capture()
    adapter.reset(torch.Generator().manual_seed(3), [2, 3])
    after = adapter.capture()
    for key in ("head.weight", "head.bias"):
        assert torch.equal(after[key][[0, 1, 4, 5]], before[key][[0, 1, 4, 5]])
        assert not torch.equal(after[key][[2, 3]], before[key][[2, 3]])
    adapter.reset(torch.Generator().manual_seed(3))  # all rows, from the same draws
    assert torch.equal(adapter.capture()["head.weight"][[2, 3]], after["head.weight"][[2, 3]])


def test_tasks_without_an_entry_at_the_end_are_reported_evicted(tiny_scenario):
    _, strategy, _ = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario, cap=1), epochs=1)
    for exp in tiny_scenario.benchmark().train_stream:
        strategy.train(exp, num_workers=0)
    plugin = plugin_of(strategy, AdapterAllocation)
    (kept,) = plugin.bank.entries.values()
    evicted = plugin.report().summary["evicted_tasks"]
    assert evicted and sorted(evicted + kept.meta.tasks) == sorted(set(tiny_scenario.order))


def test_the_adapter_store_never_recalls_and_keeps_one_entry_per_task(tiny_scenario):
    from nsr_bench.strategies import adapter_store
    from nsr_bench.strategies.contract import BuildContext

    params = adapter_store.Params(rank=2, embed_samples=64, energy=1.0)
    _, strategy, _ = make_strategy(
        tiny_scenario, lambda model: adapter_store.build(params, BuildContext(model, tiny_scenario, 0, "cpu")),
        epochs=1)
    for exp in tiny_scenario.benchmark().train_stream:
        strategy.train(exp, num_workers=0)
    plugin = plugin_of(strategy, AdapterAllocation)
    assert {d["action"] for d in plugin.decisions} == {"fresh"}
    tasks = sorted(t for e in plugin.bank.entries.values() for t in e.meta.tasks)
    assert tasks == sorted(set(tiny_scenario.order))
    assert all(e.meta.uses == 0 for e in plugin.bank.entries.values())


class TryingSimilarityRule(SimilarityRule):
    """NSR's rule that also tries fresh and its own decision at every experience, checking that a trial
    leaves the live adapter as it found it."""

    trial_steps = 3

    def __init__(self):
        super().__init__()
        self.curves = []

    def decide(self, ctx):
        decision = super().decide(ctx)
        plugin = self.plugin
        before = plugin.adapter.capture()
        self.curves.append([ctx.trial(d) for d in (Decision("fresh"), decision)])
        after = plugin.adapter.capture()
        assert all(torch.equal(before[k], after[k]) for k in before)
        return decision


def test_trials_are_branches_that_leave_training_bit_identical(tiny_scenario):
    """A rule's trials (offline RL training) apply a candidate, update and measure, then restore: the
    stream trains exactly as without them, and each trial's curve has one point per update plus one."""
    runs = {}
    for name, rule in (("plain", SimilarityRule()), ("trying", TryingSimilarityRule())):
        def plugins(model, rule=rule):
            stack = nsr_plugins(tiny_scenario)(model)
            allocation = next(p for p in stack if isinstance(p, AdapterAllocation))
            allocation.rule = rule
            rule.plugin = allocation
            return stack
        model, strategy, _ = make_strategy(tiny_scenario, plugins)
        for exp in tiny_scenario.benchmark().train_stream:
            strategy.train(exp, num_workers=0)
        runs[name] = (plugin_of(strategy, AdapterAllocation).decisions,
                      {k: v.clone() for k, v in model.state_dict().items()}, rule)
    assert runs["trying"][0] == runs["plain"][0]
    assert all(torch.equal(runs["trying"][1][k], v) for k, v in runs["plain"][1].items())
    curves = runs["trying"][2].curves
    assert len(curves) == len(tiny_scenario.order)
    assert all(len(c) == 4 and all(0 <= a <= 1 for a in c) for pair in curves for c in pair)
    assert any(pair[1][0] > pair[0][0] for pair in curves[3:])  # a recalled entry starts above a fresh one
