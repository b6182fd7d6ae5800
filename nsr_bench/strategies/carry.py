"""Carry: keep training the one active LoRA adapter across experiences (a memoryless rule of Theorem 1)."""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import AllocationParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext

Params = AllocationParams


class Carry(AllocationRule):
    """Fresh at the first experience, then keep fine-tuning the active adapter."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh") if ctx.experience == 0 else Decision("carry")


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, Carry(), ctx)
