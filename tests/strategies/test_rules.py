"""The memoryless slot rules (their method files hold them)."""

import torch

from nsr_bench.nsr.allocation import AllocationContext
from nsr_bench.strategies.random_slot import RandomSlot
from nsr_bench.strategies.round_robin import RoundRobin


def ctx(experience):
    return AllocationContext(torch.zeros(3), None, experience)


def test_round_robin_cycles_through_its_slots():
    rule = RoundRobin(slots=3)
    assert [rule.decide(ctx(i)).entries[0] for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_random_slot_is_seeded_and_in_range():
    rule1, rule2 = RandomSlot(4, seed=3), RandomSlot(4, seed=3)
    draws = [rule1.decide(ctx(i)).entries[0] for i in range(50)]
    assert draws == [rule2.decide(ctx(i)).entries[0] for i in range(50)]
    assert set(draws) == {0, 1, 2, 3}
