"""LwF: Li & Hoiem, "Learning without Forgetting", TPAMI 2017, on the plain adapters.

Our :class:`~nsr_bench.plugins.distillation.Distillation`: the model before each experience is the
teacher of every prior task's classes. Avalanche's ``LwFPlugin`` is not used: with task labels it
distils only the classes of task label 0. The teacher is the adapters and head, so the method has
no ``whole_network`` variant.
"""

from __future__ import annotations

from pydantic import Field

from nsr_bench.strategies.common import AdapterParams, BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(AdapterParams):
    lwf_alpha: float = Field(1.0, ge=0, description="distillation weight")
    lwf_temperature: float = Field(2.0, gt=0)


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.distillation import Distillation

    adapters = BaselineParams(**params.model_dump(include=set(AdapterParams.model_fields)))
    return baseline_plugins(adapters, ctx, Distillation(params.lwf_alpha, params.lwf_temperature))
