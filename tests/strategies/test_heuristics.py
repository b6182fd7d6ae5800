import pytest
import torch

from nsr_bench.nsr.allocation import AllocationContext
from nsr_bench.strategies.heuristics import OracleIsolated, RandomSlot, RoundRobin
from tests.nsr.test_plugin import make_strategy


def ctx(experience, task=None, bank=None):
    return AllocationContext(torch.zeros(3), bank, experience, task=task)


def test_round_robin_cycles_through_its_slots():
    rule = RoundRobin(slots=3)
    assert [rule.decide(ctx(i)).entries[0] for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_random_slot_is_seeded_and_in_range():
    rule1, rule2 = RandomSlot(4, seed=3), RandomSlot(4, seed=3)
    draws = [rule1.decide(ctx(i)).entries[0] for i in range(50)]
    assert draws == [rule2.decide(ctx(i)).entries[0] for i in range(50)]
    assert set(draws) == {0, 1, 2, 3}


def test_isolated_needs_oracle_task_ids():
    with pytest.raises(ValueError, match="oracle task ids"):
        OracleIsolated().decide(ctx(0))


def test_slot_rules_run_with_the_bank_on(tiny_scenario):
    """Slot indices are not Bank ids: with the Bank on, entries are reserved and slots still used."""
    _, plugin, strategy = make_strategy(tiny_scenario)
    plugin.rule = RoundRobin(slots=2)
    for exp in list(tiny_scenario.benchmark().train_stream)[:3]:
        strategy.train(exp, num_workers=0)
    assert [d["entries"] for d in plugin.decisions] == [[0], [1], [0]]
    assert len(plugin.bank) == 3 and sorted(plugin.slots) == [0, 1]


def test_round_robin_overwrites_the_oldest_slot(tiny_scenario):
    """With 2 slots, experience 2 (task 2) loads slot 0 (task 0's adapter) and overwrites it."""
    _, plugin, strategy = make_strategy(tiny_scenario, {"distill_lambda": 0.0})
    plugin.rule, plugin.bank = RoundRobin(slots=2), None
    bm = tiny_scenario.benchmark()
    snapshots = []
    for exp in list(bm.train_stream)[:3]:
        strategy.train(exp, num_workers=0)
        snapshots.append({k: v.clone() for k, v in plugin.slots.get(0, {}).items()})
    assert sorted(plugin.slots) == [0, 1]
    assert all(torch.equal(snapshots[0][k], snapshots[1][k]) for k in snapshots[0])  # exp 1 used slot 1
    assert not torch.equal(snapshots[1]["head.weight"], snapshots[2]["head.weight"])  # exp 2 overwrote 0
    assert [d["action"] for d in plugin.decisions] == ["slot"] * 3
    assert [d["entries"] for d in plugin.decisions] == [[0], [1], [0]]
