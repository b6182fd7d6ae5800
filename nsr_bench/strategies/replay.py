"""Experience replay: Chaudhry et al., "On Tiny Episodic Memories in Continual Learning", 2019.

``keyed_by=experience`` is Avalanche's experience-balanced buffer; ``keyed_by=task`` a class-balanced one
(recurrences of a task do not duplicate it). The buffer holds ``mem_size`` samples, or as many as fit in
``budget_mb`` (to match another method's memory).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nsr_bench.strategies.common import BaselineParams, baseline_plugins, stored_sample_bytes

DEFAULT_MEM_SIZE = 200


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "experience"
    mem_size: int | None = Field(None, ge=1, description=f"buffer size (samples); default {DEFAULT_MEM_SIZE}")
    budget_mb: float | None = Field(None, gt=0, description="buffer size as a byte budget (MB = 10^6 bytes)")

    @model_validator(mode="after")
    def _one_size(self):
        if self.mem_size is not None and self.budget_mb is not None:
            raise ValueError("mem_size and budget_mb both size the buffer; give one of them")
        return self


def buffer_size(params: Params, sample_bytes: int) -> int:
    """``mem_size``, or the samples of ``sample_bytes`` each that fit in ``budget_mb``."""
    if params.budget_mb is None:
        return params.mem_size or DEFAULT_MEM_SIZE
    size = int(params.budget_mb * 1e6 // sample_bytes)
    if size < 1:
        raise ValueError(f"budget_mb={params.budget_mb} holds no sample of {sample_bytes} bytes")
    return size


def build(params: Params, ctx) -> list:
    from avalanche.training.storage_policy import ClassBalancedBuffer

    from nsr_bench.plugins.replay import Replay

    sample_bytes = stored_sample_bytes(ctx)
    size = buffer_size(params, sample_bytes)
    classes = ctx.scenario.num_classes
    if params.keyed_by == "task" and size < classes:  # Avalanche's per-class share would be 0 (and crash)
        raise ValueError(f"a class-balanced buffer of {size} samples ({sample_bytes} bytes each) holds no sample "
                         f"of most of the scenario's {classes} classes; give at least {classes} samples "
                         f"(budget_mb >= {classes * sample_bytes / 1e6:.4g}) or keyed_by=experience")
    policy = ClassBalancedBuffer(size, adaptive_size=True) if params.keyed_by == "task" else None
    return baseline_plugins(params, ctx, Replay(size, policy, sample_bytes))
