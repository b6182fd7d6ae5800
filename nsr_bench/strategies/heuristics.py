"""Memoryless allocation heuristics: rules that ignore history.

They are the comparators of Theorem 1 in the NSR paper: a policy that cannot recall a past
subspace must re-learn each recurring task.
"""

from __future__ import annotations

import numpy as np

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision


class Fresh(AllocationRule):
    """A brand-new adapter (and head) for every experience."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh")


class Carry(AllocationRule):
    """Keep training the one active adapter across experiences (fine-tuning of the adapter)."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh") if ctx.experience == 0 else Decision("carry")


class RoundRobin(AllocationRule):
    """S fixed adapter slots used in turn: experience i loads and then overwrites slot i mod S."""

    def __init__(self, slots: int = 3):
        if slots < 1:
            raise ValueError(f"round_robin needs >= 1 slot, got {slots}")
        self.slots = slots

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("slot", [ctx.experience % self.slots])


class RandomSlot(AllocationRule):
    """S fixed adapter slots; each experience loads and then overwrites a uniformly random one."""

    def __init__(self, slots: int = 3, seed: int = 0):
        if slots < 1:
            raise ValueError(f"random_slot needs >= 1 slot, got {slots}")
        self.slots = slots
        self.rng = np.random.default_rng(seed)

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("slot", [int(self.rng.integers(self.slots))])


class OracleIsolated(AllocationRule):
    """Isolation upper bound: one adapter per task id (oracle), kept losslessly in the Bank."""

    uses_bank = True

    def decide(self, ctx: AllocationContext) -> Decision:
        if ctx.task is None:
            raise ValueError("the isolated reference needs oracle task ids")
        entry = ctx.bank.entry_for_task(ctx.task)
        return Decision("fresh") if entry is None else Decision("recall", [entry], [1.0])
