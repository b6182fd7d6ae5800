"""SI: Zenke et al., "Continual Learning Through Synaptic Intelligence", ICML 2017 (our fixed Avalanche plugin)."""

from __future__ import annotations

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):
    si_lambda: float = Field(100.0, ge=0)


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.synaptic_intelligence import SynapticIntelligence

    return baseline_plugins(params, ctx, SynapticIntelligence(params.si_lambda))
