"""Memoryless allocation heuristics: rules that ignore history.

They are the comparators of Theorem 1 in the NSR paper: a policy that cannot recall a past
subspace must re-learn each recurring task.
"""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision


class Fresh(AllocationRule):
    """A brand-new adapter (and head) for every experience."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh")


class Carry(AllocationRule):
    """Keep training the one active adapter across experiences (fine-tuning of the adapter)."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh") if ctx.experience == 0 else Decision("carry")
