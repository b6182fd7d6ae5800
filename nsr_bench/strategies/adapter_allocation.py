"""LoRA-adapter strategies that differ only in their allocation rule and whether the Bank is on:
NSR (similarity rule, Bank on) and the memoryless heuristics. One mechanism, :class:`NSRPlugin`,
serves them all so that comparisons isolate the rule and the memory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nsr_bench.config import Strict

RULES = {
    "similarity": "nsr_bench.nsr.allocation:SimilarityRule",
    "fresh": "nsr_bench.strategies.heuristics:Fresh",
    "carry": "nsr_bench.strategies.heuristics:Carry",
}


class Params(Strict):
    rule: Literal[tuple(RULES)] = "similarity"
    bank: bool = True
    rank: int = Field(4, ge=1, description="LoRA rank")
    alpha: float = Field(8.0, gt=0)
    targets: list[str] | None = Field(None, description="modules to adapt; default: the backbone's")
    energy: float = Field(0.99, gt=0, le=1, description="SVD energy kept by compression")
    fixed_rank: int | None = Field(None, ge=1, description="compress to this rank instead of by energy")
    store_dtype: Literal["fp32", "fp16"] = "fp32"
    cap: int = Field(50, ge=1, description="Bank retention cap K")
    eviction: Literal["lru", "lfu", "fifo"] = "lru"
    tau_recall: float = Field(0.9, ge=-1, le=1)
    tau_related: float = Field(0.5, ge=-1, le=1)
    merge_k: int = Field(3, ge=1)
    distill_lambda: float = Field(1.0, ge=0)
    temperature: float = Field(2.0, gt=0)
    embed_samples: int = Field(256, ge=1)

    @model_validator(mode="after")
    def _rule_needs_bank(self):
        if self.rule == "similarity" and not self.bank:
            raise ValueError("rule 'similarity' recalls from the Bank; set bank=true or pick "
                             f"a memoryless rule ({', '.join(r for r in RULES if r != 'similarity')})")
        if self.tau_related > self.tau_recall:
            raise ValueError(f"tau_related ({self.tau_related}) must be <= tau_recall ({self.tau_recall})")
        return self


def build(params: Params, ctx) -> list:
    """The plugins of this strategy for the model and scenario in ``ctx``."""
    from nsr_bench.nsr.bank import TaskKnowledgeBank
    from nsr_bench.nsr.plugin import NSRPlugin
    from nsr_bench.registry import resolve

    rule_cls = resolve(RULES[params.rule])
    rule = (rule_cls(params.tau_recall, params.tau_related, params.merge_k)
            if params.rule == "similarity" else rule_cls())
    bank = TaskKnowledgeBank(params.cap, params.eviction) if params.bank else None
    return [NSRPlugin(rule, bank, params.targets or ctx.model.lora_targets, rank=params.rank,
                      alpha=params.alpha, energy=params.energy, fixed_rank=params.fixed_rank,
                      store_dtype=params.store_dtype, distill_lambda=params.distill_lambda,
                      temperature=params.temperature, embed_samples=params.embed_samples,
                      reference=ctx.scenario.reference, seed=ctx.seed)]
