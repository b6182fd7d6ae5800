"""EWC: Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.

``keyed_by=experience`` is Avalanche's online ``EWCPlugin`` (state keyed by experience, growing on a
cyclic stream; :class:`~nsr_bench.plugins.ewc.EWC` adds its memory report); ``keyed_by=task`` is our
:class:`~nsr_bench.plugins.task_keyed_ewc.TaskKeyedEWC`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "experience"
    ewc_lambda: float = Field(100.0, ge=0)
    ewc_decay: float = Field(0.9, gt=0, le=1, description="online EWC decay (keyed_by=experience)")


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.ewc import EWC
    from nsr_bench.plugins.task_keyed_ewc import TaskKeyedEWC

    plugin = (TaskKeyedEWC(params.ewc_lambda) if params.keyed_by == "task"
              else EWC(params.ewc_lambda, "online", params.ewc_decay))
    return baseline_plugins(params, ctx, plugin)
