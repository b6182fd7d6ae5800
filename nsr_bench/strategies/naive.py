"""Naive: fine-tune the one LoRA adapter and head across the stream, no protection (Avalanche's Naive)."""

from __future__ import annotations

from nsr_bench.strategies.common import BaselineParams, baseline_plugins

Params = BaselineParams


def build(params: Params, ctx) -> list:
    return baseline_plugins(params, ctx)
