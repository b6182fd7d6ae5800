"""Fresh: a brand-new LoRA adapter and new head rows for every experience (a memoryless rule of Theorem 1).

Only the new task's head rows are re-initialised; the other tasks' rows are kept (wiping them would
manufacture forgetting that is not the adapter's).
"""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import AllocationParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext

Params = AllocationParams


class Fresh(AllocationRule):
    """A brand-new adapter (and the task's head rows) for every experience."""

    def decide(self, ctx: AllocationContext) -> Decision:
        return Decision("fresh")


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, Fresh(), ctx)
