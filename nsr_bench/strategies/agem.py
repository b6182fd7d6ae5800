"""A-GEM: Chaudhry et al., "Efficient Lifelong Learning with A-GEM", ICLR 2019 (Avalanche's ``AGEMPlugin``)."""

from __future__ import annotations

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins, stored_sample_bytes
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):
    patterns_per_exp: int = Field(32, ge=1, description="memory per experience")
    agem_sample_size: int = Field(64, ge=1)


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.agem import AGEM

    plugin = AGEM(params.patterns_per_exp, params.agem_sample_size, stored_sample_bytes(ctx))
    return baseline_plugins(params, ctx, plugin)
