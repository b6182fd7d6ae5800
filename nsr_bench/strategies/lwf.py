"""LwF: Li & Hoiem, "Learning without Forgetting", TPAMI 2017 (Avalanche's ``LwFPlugin``)."""

from __future__ import annotations

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins


class Params(BaselineParams):
    lwf_alpha: float = Field(1.0, ge=0)
    lwf_temperature: float = Field(2.0, gt=0)


def build(params: Params, ctx) -> list:
    from avalanche.training.plugins import LwFPlugin

    return baseline_plugins(params, ctx, LwFPlugin(params.lwf_alpha, params.lwf_temperature))
