"""Random slot: S fixed adapter slots, a uniformly random one per experience (a memoryless rule)."""

from __future__ import annotations

import numpy as np

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import allocation_plugins
from nsr_bench.strategies.contract import BuildContext
from nsr_bench.strategies.round_robin import Params


class RandomSlot(AllocationRule):
    """Each experience loads and then overwrites a uniformly random slot of S."""

    def __init__(self, slots: int = 3, seed: int = 0):
        if slots < 1:
            raise ValueError(f"random_slot needs >= 1 slot, got {slots}")
        self.slots = slots
        self.rng = np.random.default_rng(seed)

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("slot", [int(self.rng.integers(self.slots))])


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, RandomSlot(params.slots, ctx.streams.seed_for("rule")), ctx)
