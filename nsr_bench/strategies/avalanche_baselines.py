"""Standard CL baselines through Avalanche, on the LoRA + head parameters (or the whole network).

Every baseline trains the same single LoRA adapter and head as ``carry`` (the shared
:class:`~nsr_bench.nsr.plugin.NSRPlugin` mechanism with the Bank off) and adds one Avalanche plugin.
Avalanche keys EWC, GEM and replay state by experience, which grows on cyclic streams; ``keyed_by``
selects the stock plugin (``experience``) or our task-keyed variant (``task``), and is recorded
with the cell's parameters.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nsr_bench.config import Strict

METHODS = ("naive", "ewc", "si", "lwf", "replay", "gem", "agem", "cumulative", "ncm")
KEYABLE = ("ewc", "gem", "replay", "cumulative")


class Params(Strict):
    method: Literal[METHODS]
    keyed_by: Literal["experience", "task"] = "experience"
    whole_network: bool = Field(False, description="train the backbone too (no LoRA)")
    rank: int = Field(4, ge=1)
    alpha: float = Field(8.0, gt=0)
    targets: list[str] | None = None
    ewc_lambda: float = Field(100.0, ge=0)
    ewc_decay: float = Field(0.9, gt=0, le=1, description="online EWC decay")
    si_lambda: float = Field(100.0, ge=0)
    lwf_alpha: float = Field(1.0, ge=0)
    lwf_temperature: float = Field(2.0, gt=0)
    mem_size: int = Field(200, ge=1, description="replay buffer size")
    patterns_per_exp: int = Field(32, ge=1, description="GEM / A-GEM memory per experience or task")
    gem_strength: float = Field(0.5, ge=0)
    agem_sample_size: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _keying(self):
        if self.keyed_by == "task" and self.method not in KEYABLE:
            raise ValueError(f"keyed_by=task exists for {', '.join(KEYABLE)}, not {self.method}")
        if self.method == "ncm" and self.whole_network:
            raise ValueError("ncm uses frozen features; whole_network must be false")
        return self


def method_plugin(p: Params):
    """The Avalanche plugin (stock or task-keyed) that implements ``p.method``; None for naive."""
    from avalanche.training.plugins import (
        AGEMPlugin,
        EWCPlugin,
        GEMPlugin,
        LwFPlugin,
        ReplayPlugin,
    )
    from avalanche.training.storage_policy import ClassBalancedBuffer

    from nsr_bench.strategies.cumulative import CumulativePlugin
    from nsr_bench.strategies.prototypes import PrototypePlugin
    from nsr_bench.strategies.synaptic_intelligence import SynapticIntelligence
    from nsr_bench.strategies.task_keyed_ewc import TaskKeyedEWC
    from nsr_bench.strategies.task_keyed_gem import TaskKeyedGEM

    task = p.keyed_by == "task"
    match p.method:
        case "naive":
            return None
        case "ewc":
            return TaskKeyedEWC(p.ewc_lambda) if task else EWCPlugin(p.ewc_lambda, "online", p.ewc_decay)
        case "si":
            return SynapticIntelligence(p.si_lambda)
        case "lwf":
            return LwFPlugin(p.lwf_alpha, p.lwf_temperature)
        case "replay":
            policy = ClassBalancedBuffer(p.mem_size, adaptive_size=True) if task else None
            return ReplayPlugin(p.mem_size, storage_policy=policy)
        case "gem":
            return (TaskKeyedGEM if task else GEMPlugin)(p.patterns_per_exp, p.gem_strength)
        case "agem":
            return AGEMPlugin(p.patterns_per_exp, p.agem_sample_size)
        case "cumulative":
            return CumulativePlugin(p.keyed_by)
        case "ncm":
            return PrototypePlugin()


def build(params: Params, ctx) -> list:
    """The adapter mechanism (carry, Bank off, no distillation) plus the method's plugin."""
    from nsr_bench.nsr.plugin import NSRPlugin
    from nsr_bench.strategies.heuristics import Carry

    no_lora = params.whole_network or params.method == "ncm"
    targets = [] if no_lora else (params.targets or ctx.model.lora_targets)
    if params.whole_network:
        ctx.model.features.requires_grad_(True)
        ctx.model.frozen_backbone = False
    adapters = NSRPlugin(Carry(), None, targets, rank=params.rank, alpha=params.alpha, distill_lambda=0.0,
                         reference=ctx.scenario.reference, seed=ctx.seed)
    plugin = method_plugin(params)
    return [adapters] if plugin is None else [adapters, plugin]
