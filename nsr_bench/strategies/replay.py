"""Experience replay: Chaudhry et al., "On Tiny Episodic Memories in Continual Learning", 2019.

``keyed_by=experience`` is Avalanche's experience-balanced buffer; ``keyed_by=task`` a class-balanced one
(recurrences of a task do not duplicate it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "experience"
    mem_size: int = Field(200, ge=1, description="replay buffer size (samples)")


def build(params: Params, ctx) -> list:
    from avalanche.training.plugins import ReplayPlugin
    from avalanche.training.storage_policy import ClassBalancedBuffer

    policy = ClassBalancedBuffer(params.mem_size, adaptive_size=True) if params.keyed_by == "task" else None
    return baseline_plugins(params, ctx, ReplayPlugin(params.mem_size, storage_policy=policy))
