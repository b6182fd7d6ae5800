"""Adapter store: one lossless adapter per task, kept in the Bank but never recalled during training.

The memory-matched comparator of NSR without compression or recall: every experience trains a fresh
adapter (and its task's head rows), which replaces its task's entry, stored losslessly; evaluation goes
through the Bank as NSR's does (oracle: the task's entry; agnostic: routed by embedding). What NSR adds
over it is recall (warm starts on recurrence) and compression.
"""

from __future__ import annotations

from nsr_bench.nsr.allocation import AllocationContext, Decision, OracleTaskRule
from nsr_bench.strategies.common import RecallingParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext

Params = RecallingParams


class AdapterStore(OracleTaskRule):
    """Always fresh; the trained adapter replaces the entry of the experience's task id (oracle)."""

    def decide(self, ctx: AllocationContext) -> Decision:
        entry = self.own_entry(ctx)
        return Decision("fresh", [] if entry is None else [entry])


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, AdapterStore(), ctx)
