"""NSR: similarity allocation over a TaskKnowledgeBank of SVD-compressed LoRA adapters, with distillation.

The nsr-bench paper, "Neural Subspace Reallocation": recall the nearest Bank entry when its task
embedding is similar enough, merge related entries otherwise, or start fresh.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from nsr_bench.strategies.common import RecallingParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(RecallingParams):
    tau_recall: float = Field(0.9, ge=-1, le=1)
    tau_related: float = Field(0.5, ge=-1, le=1)
    merge_k: int = Field(3, ge=1)
    distill_lambda: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _thresholds(self):
        if self.tau_related > self.tau_recall:
            raise ValueError(f"tau_related ({self.tau_related}) must be <= tau_recall ({self.tau_recall})")
        return self


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.nsr.allocation import SimilarityRule

    return allocation_plugins(params, SimilarityRule(params.tau_recall, params.tau_related, params.merge_k), ctx)
