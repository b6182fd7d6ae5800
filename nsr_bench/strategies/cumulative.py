"""Cumulative: train on all data seen so far, the upper bound of sequential training."""

from __future__ import annotations

from typing import Literal

from nsr_bench.strategies.common import BaselineParams, baseline_plugins, stored_sample_bytes
from nsr_bench.strategies.contract import BuildContext


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "task"


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.cumulative import CumulativePlugin

    return baseline_plugins(params, ctx, CumulativePlugin(params.keyed_by, stored_sample_bytes(ctx)))
