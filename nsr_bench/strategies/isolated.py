"""Isolated: the isolation reference, one lossless adapter per task id (oracle), kept in the Bank."""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import RecallingParams, allocation_plugins

Params = RecallingParams


class OracleIsolated(AllocationRule):
    """Recall the entry of the experience's own task id, or start fresh on its first occurrence."""

    uses_bank = True

    def decide(self, ctx: AllocationContext) -> Decision:
        if ctx.task is None:
            raise ValueError("the isolated reference needs oracle task ids")
        entry = ctx.bank.entry_for_task(ctx.task)
        return Decision("fresh") if entry is None else Decision("recall", [entry], [1.0])


def build(params: Params, ctx) -> list:
    return allocation_plugins(params, OracleIsolated(), ctx)
