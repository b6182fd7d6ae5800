"""GEM: Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017.

``keyed_by=experience`` is Avalanche's ``GEMPlugin`` (one memory and constraint per experience);
``keyed_by=task`` our :class:`~nsr_bench.plugins.task_keyed_gem.TaskKeyedGEM` (one per distinct task).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins, stored_sample_bytes
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "experience"
    patterns_per_exp: int = Field(32, ge=1, description="memory per experience or task")
    gem_strength: float = Field(0.5, ge=0)


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.gem import GEM
    from nsr_bench.plugins.task_keyed_gem import TaskKeyedGEM

    plugin_class = TaskKeyedGEM if params.keyed_by == "task" else GEM
    plugin = plugin_class(params.patterns_per_exp, params.gem_strength, stored_sample_bytes(ctx))
    return baseline_plugins(params, ctx, plugin)
