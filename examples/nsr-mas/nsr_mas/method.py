"""MAS: Aljundi et al., "Memory Aware Synapses: Learning what (not) to forget", ECCV 2018, on the plain
LoRA adapters every baseline trains."""

from __future__ import annotations

from pydantic import Field

from nsr_bench.strategies.common import BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):  # BaselineParams is a Strict model: an unknown or misspelt parameter is refused
    mas_lambda: float = Field(1.0, ge=0, description="weight of the importance-weighted penalty")
    mas_alpha: float = Field(0.5, ge=0, le=1, description="share of the old importance kept at each update")


def build(params: Params, ctx: BuildContext) -> list:
    """The plain adapters (rank, alpha, targets or the whole network) plus the MAS plugin."""
    from nsr_mas.plugin import ReportingMAS

    return baseline_plugins(params, ctx, ReportingMAS(params.mas_lambda, params.mas_alpha))
