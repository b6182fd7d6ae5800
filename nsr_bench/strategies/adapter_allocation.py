"""LoRA-adapter strategies that differ only in their allocation rule and whether the Bank is on:
NSR (similarity rule), the memoryless heuristics, the learned RL allocator and the oracle
isolation reference. One mechanism, :class:`NSRPlugin`, serves them all, so comparisons isolate
the rule and the memory. Any rule runs with the Bank on (entries are reserved and inference routes
through the Bank) or off; the rules that recall (similarity, rl, isolated) need it on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nsr_bench.config import Strict

RULES = ("similarity", "fresh", "carry", "round_robin", "random_slot", "rl", "isolated")
RECALLING_RULES = ("similarity", "rl", "isolated")


class Params(Strict):
    rule: Literal[RULES] = "similarity"
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
    slots: int = Field(3, ge=1, description="adapter slots of round_robin / random_slot")
    rl_lr: float = Field(0.5, gt=0)
    rl_baseline_decay: float = Field(0.8, gt=0, lt=1)
    rl_threshold: float = Field(0.9, gt=0, le=1)
    rl_recovery_cost: float = Field(0.5, ge=0)
    rl_pretrain_episodes: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _rule_needs_bank(self):
        if self.rule in RECALLING_RULES and not self.bank:
            raise ValueError(f"rule {self.rule!r} recalls from the Bank; set bank=true or pick a "
                             f"memoryless rule ({', '.join(r for r in RULES if r not in RECALLING_RULES)})")
        if self.tau_related > self.tau_recall:
            raise ValueError(f"tau_related ({self.tau_related}) must be <= tau_recall ({self.tau_recall})")
        return self


def build(params: Params, ctx) -> list:
    """The plugins of this strategy for the model and scenario in ``ctx``."""
    from nsr_bench.nsr.bank import TaskKnowledgeBank
    from nsr_bench.nsr.plugin import NSRPlugin

    rule = make_rule(params, ctx.seed)
    bank = TaskKnowledgeBank(params.cap, params.eviction) if params.bank else None
    return [NSRPlugin(rule, bank, params.targets or ctx.model.lora_targets, rank=params.rank,
                      alpha=params.alpha, energy=params.energy, fixed_rank=params.fixed_rank,
                      store_dtype=params.store_dtype, distill_lambda=params.distill_lambda,
                      temperature=params.temperature, embed_samples=params.embed_samples,
                      reference=ctx.scenario.reference, seed=ctx.seed)]


def make_rule(p: Params, seed: int):
    """The allocation rule named by ``p.rule`` with its hyper-parameters."""
    from nsr_bench.nsr.allocation import SimilarityRule
    from nsr_bench.strategies import heuristics
    from nsr_bench.strategies.rl_allocator import RLAllocator

    match p.rule:
        case "similarity":
            return SimilarityRule(p.tau_recall, p.tau_related, p.merge_k)
        case "fresh":
            return heuristics.Fresh()
        case "carry":
            return heuristics.Carry()
        case "round_robin":
            return heuristics.RoundRobin(p.slots)
        case "random_slot":
            return heuristics.RandomSlot(p.slots, seed)
        case "rl":
            return RLAllocator(p.merge_k, p.rl_lr, p.rl_baseline_decay, p.rl_threshold, p.rl_recovery_cost,
                               p.rl_pretrain_episodes, seed)
        case "isolated":
            return heuristics.OracleIsolated()
