"""Naive: fine-tune the one LoRA adapter and head across the stream, no protection (Avalanche's Naive)."""

from __future__ import annotations

from nsr_bench.strategies.common import BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext

Params = BaselineParams


def build(params: Params, ctx: BuildContext) -> list:
    return baseline_plugins(params, ctx)
