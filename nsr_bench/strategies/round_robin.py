"""Round robin: S fixed adapter slots used in turn (a memoryless rule of Theorem 1: it ignores history)."""

from __future__ import annotations

from pydantic import Field

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import AllocationParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(AllocationParams):
    slots: int = Field(3, ge=1, description="adapter slots S")


class RoundRobin(AllocationRule):
    """Experience i loads and then overwrites slot i mod S."""

    def __init__(self, slots: int = 3):
        if slots < 1:
            raise ValueError(f"round_robin needs >= 1 slot, got {slots}")
        self.slots = slots

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("slot", [ctx.experience % self.slots])


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, RoundRobin(params.slots), ctx)
