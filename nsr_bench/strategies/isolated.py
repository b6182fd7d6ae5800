"""Isolated: the isolation reference, one lossless adapter per task id (oracle), kept in the Bank."""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, Decision, OracleTaskRule
from nsr_bench.strategies.common import RecallingParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext

Params = RecallingParams


class OracleIsolated(OracleTaskRule):
    """Recall the entry of the experience's own task id, or start fresh on its first occurrence."""

    def decide(self, ctx: AllocationContext) -> Decision:
        entry = self.own_entry(ctx)
        return Decision("fresh") if entry is None else Decision("recall", [entry], [1.0])


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, OracleIsolated(), ctx)
