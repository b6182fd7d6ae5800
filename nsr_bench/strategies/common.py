"""What the method files share: the parameter groups they compose, and the plugin stacks they build.

Every method file in this package holds one method: its ``Params`` (only what that method reads, so an
unknown key is an error) and ``build(params, ctx) -> plugins``. Adapter methods differ only in their
allocation rule (and whether the Bank is on); Avalanche baselines add one plugin to the plain adapters.
"""

from __future__ import annotations

import copy
from typing import Literal

from pydantic import Field, model_validator
from torch import nn

from nsr_bench.config import Strict
from nsr_bench.nsr.lora import attach_lora


class AdapterParams(Strict):
    """The LoRA adapters every adapter-based method trains."""

    rank: int = Field(4, ge=1, description="LoRA rank")
    alpha: float = Field(8.0, gt=0)
    targets: list[str] | None = Field(None, description="modules to adapt; default: the backbone's")

    def check_backbone(self, backbone: nn.Module) -> None:
        """A ValueError if these adapters cannot be attached to ``backbone`` (named as the model names it,
        ``features.<layer>``): an unknown target, a layer that takes no LoRA, a rank above a layer's."""
        if getattr(self, "whole_network", False):
            return
        holder = nn.Module()
        holder.features = copy.deepcopy(backbone)
        targets = self.targets or [f"features.{n}" for n in backbone.lora_targets]
        attach_lora(holder, targets, self.rank, self.alpha)


class AllocationParams(AdapterParams):
    """An allocation rule's adapters, the Bank (on or off: the paper's ablation) and distillation."""

    bank: bool = False
    energy: float = Field(0.99, gt=0, le=1, description="SVD energy kept by compression")
    fixed_rank: int | None = Field(None, ge=1, description="compress to this rank instead of by energy")
    store_dtype: Literal["fp32", "fp16"] = "fp32"
    cap: int = Field(50, ge=1, description="Bank retention cap K")
    eviction: Literal["lru", "lfu", "fifo", "frequency"] = "lru"
    embed_samples: int = Field(256, ge=1)
    routing: Literal["sample", "batch"] = Field("sample", description="task-agnostic routing of test data "
                                                "through the Bank: per sample, or per (task-pure) batch")
    distill_lambda: float = Field(0.0, ge=0)
    temperature: float = Field(2.0, gt=0)


class RecallingParams(AllocationParams):
    """A rule that keeps its adapters in the Bank (and may recall them), so the Bank must be on."""

    bank: bool = True

    @model_validator(mode="after")
    def _needs_bank(self):
        if not self.bank:
            raise ValueError("this rule keeps its adapters in the Bank; set bank=true or pick a memoryless "
                             "rule (fresh, carry, round_robin, random_slot)")
        return self


class BaselineParams(AdapterParams):
    """An Avalanche baseline: the plain adapters (or the whole network) plus the method's plugin."""

    whole_network: bool = Field(False, description="train the backbone too (no LoRA)")


def allocation_plugins(params: AllocationParams, rule, ctx) -> list:
    """Distillation (if on), the allocation plugin and, with the Bank on, evaluation routing through it."""
    from nsr_bench.nsr.bank import TaskKnowledgeBank
    from nsr_bench.plugins.adapter_allocation import AdapterAllocation
    from nsr_bench.plugins.bank_routing import BankRouting
    from nsr_bench.plugins.distillation import Distillation

    bank = TaskKnowledgeBank(params.cap, params.eviction) if params.bank else None
    allocation = AdapterAllocation(rule, bank, params.targets or ctx.model.lora_targets, rank=params.rank,
                                   alpha=params.alpha, energy=params.energy, fixed_rank=params.fixed_rank,
                                   store_dtype=params.store_dtype, embed_samples=params.embed_samples,
                                   reference=ctx.scenario.reference,
                                   generator=ctx.streams.torch("adapter_init"),
                                   sampler=ctx.streams.torch("embedding"))
    plugins = [Distillation(params.distill_lambda, params.temperature)] if params.distill_lambda > 0 else []
    plugins.append(allocation)
    if bank is not None:
        plugins.append(BankRouting(bank, ctx.scenario.reference, ctx.streams.torch("evaluation"), params.routing))
    return plugins


def stored_sample_bytes(ctx) -> int:
    """Bytes of one sample a method stores, priced with the scenario's inputs at their storage dtype
    (:mod:`nsr_bench.plugins.storage`; read at build time, before the frozen-prefix cache replaces them
    by features)."""
    from nsr_bench.plugins.storage import scenario_storage

    return scenario_storage(ctx.scenario).sample_bytes(ctx.scenario.tasks[0].x_train)


def baseline_plugins(params: BaselineParams, ctx, *method_plugins, adapters: bool = True) -> list:
    """The plain LoRA adapters (none with ``whole_network`` or ``adapters=False``) plus the method's plugins."""
    from nsr_bench.plugins.lora_adapters import LoRAAdapters

    if params.whole_network:
        ctx.model.features.requires_grad_(True)
        ctx.model.frozen_backbone = False
    targets = (params.targets or ctx.model.lora_targets) if adapters and not params.whole_network else []
    base = LoRAAdapters(targets, params.rank, params.alpha, ctx.streams.torch("adapter_init"))
    return [base, *method_plugins]
