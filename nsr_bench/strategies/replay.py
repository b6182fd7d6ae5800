"""Experience replay: Chaudhry et al., "On Tiny Episodic Memories in Continual Learning", 2019.

``keyed_by=experience`` is Avalanche's experience-balanced buffer; ``keyed_by=task`` a class-balanced one
(recurrences of a task do not duplicate it). The buffer holds ``mem_size`` samples, or as many as fit in
``budget_mb``: a number of MB, or ``nsr``, NSR's Bank on the cell's scenario (:func:`matched_budget_mb`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator

from nsr_bench.config import Strict
from nsr_bench.strategies.common import BaselineParams, baseline_plugins, stored_sample_bytes
from nsr_bench.strategies.contract import BuildContext

DEFAULT_MEM_SIZE = 200
MATCHED = "nsr"
"""``budget_mb: nsr``: the bytes of NSR's Bank, the strategy spec of this name, on the cell's scenario."""


class MatchedBank(Strict):
    """NSR's Bank settings on the cell's scenario (its spec's defaults, tuned ``best`` and test overrides,
    as the runner resolves NSR's own cell there): what ``budget_mb: nsr`` matches. Part of the cell's
    parameters, so the cell's hash changes whenever NSR's resolved Bank does."""

    rank: int = Field(ge=1)
    fixed_rank: int | None = Field(None, ge=1)
    store_dtype: Literal["fp32", "fp16"]
    cap: int = Field(ge=1)
    targets: list[str] | None = None

    @property
    def stored_rank(self) -> int:
        """The largest rank an entry's layer stores: the LoRA rank (SVD never keeps more), or ``fixed_rank``."""
        return min(self.rank, self.fixed_rank or self.rank)


class Params(BaselineParams):
    keyed_by: Literal["experience", "task"] = "experience"
    mem_size: int | None = Field(None, ge=1, description=f"buffer size (samples); default {DEFAULT_MEM_SIZE}")
    budget_mb: float | Literal["nsr"] | None = Field(
        None, description="buffer size as a byte budget (MB = 10^6 bytes), or nsr: NSR's largest Bank on "
                          "the cell's scenario")
    matched: MatchedBank | None = Field(None, description="NSR's Bank settings (the runner sets them for nsr)")

    @model_validator(mode="after")
    def _one_size(self):
        if self.mem_size is not None and self.budget_mb is not None:
            raise ValueError("mem_size and budget_mb both size the buffer; give one of them")
        if isinstance(self.budget_mb, float) and self.budget_mb <= 0:
            raise ValueError(f"budget_mb must be > 0, got {self.budget_mb}")
        if (self.budget_mb == MATCHED) != (self.matched is not None):
            raise ValueError(f"budget_mb={MATCHED} takes NSR's Bank settings on the scenario (matched), which the "
                             "runner resolves; resolve the cell with nsr_bench.resolution.resolve_cell")
        return self


def resolve_params(raw: dict, strategy_params: Callable[[str], dict]) -> dict:
    """``raw`` with ``matched`` set to NSR's resolved Bank settings where ``budget_mb`` is ``nsr``;
    ``strategy_params(name)`` gives the resolved parameters of spec ``name`` on the cell's scenario."""
    if raw.get("budget_mb") != MATCHED:
        return raw
    nsr = strategy_params(MATCHED)
    return {**raw, "matched": {k: nsr[k] for k in MatchedBank.model_fields}}


def matched_budget_mb(bank: MatchedBank, ctx) -> float:
    """NSR's worst-case Bank on ``ctx``'s scenario, in MB (:func:`~nsr_bench.claims.memory.bank_bound`):
    one entry per experience up to the cap, each layer at NSR's largest stored rank, a head row per class
    of every experience. NSR's Bank never holds more (it holds less where it recalls, or compresses below
    the LoRA rank), so the matched buffer gets at least NSR's bytes on this stream and seed."""
    from nsr_bench.claims.memory import bank_bound, describe, select_layers

    features = ctx.model.features
    net = describe(type(features).__name__, features, features.feat_dim, list(features.lora_targets))
    targets = [t.removeprefix("features.") for t in bank.targets] if bank.targets else None
    task_classes = ctx.scenario.task_classes()
    per_experience = [len(task_classes[t]) for t in ctx.scenario.order]
    return bank_bound(net, select_layers(net, targets), bank.stored_rank, bank.store_dtype, bank.cap,
                      per_experience, stream_classes(ctx.scenario)) / 1e6


def stream_classes(scenario) -> int:
    """How many classes the scenario's tasks hold (what a class-balanced buffer shares its size among)."""
    return len({c for classes in scenario.task_classes().values() for c in classes})


def budget(params: Params, ctx) -> float | None:
    """The buffer's byte budget in MB: ``budget_mb``, NSR's Bank for ``nsr``, or None (sized by samples)."""
    return matched_budget_mb(params.matched, ctx) if params.budget_mb == MATCHED else params.budget_mb


def buffer_size(params: Params, sample_bytes: int, budget_mb: float | None = None) -> int:
    """``mem_size``, or the samples of ``sample_bytes`` each that fit in ``budget_mb`` (default: the
    params' own number)."""
    budget_mb = params.budget_mb if budget_mb is None else budget_mb
    if budget_mb is None:
        return params.mem_size or DEFAULT_MEM_SIZE
    size = int(budget_mb * 1e6 // sample_bytes)
    if size < 1:
        raise ValueError(f"budget_mb={budget_mb:.6g} holds no sample of {sample_bytes} bytes")
    return size


def build(params: Params, ctx: BuildContext) -> list:
    from avalanche.training.storage_policy import ClassBalancedBuffer

    from nsr_bench.plugins.replay import Replay

    sample_bytes = stored_sample_bytes(ctx)
    budget_mb = budget(params, ctx)
    size = buffer_size(params, sample_bytes, budget_mb)
    classes = stream_classes(ctx.scenario)
    if params.keyed_by == "task" and size < classes:  # Avalanche's per-class share would be 0 (and crash)
        raise ValueError(f"a class-balanced buffer of {size} samples ({sample_bytes} bytes each) holds no sample "
                         f"of most of the scenario's {classes} classes; give at least {classes} samples "
                         f"(budget_mb >= {classes * sample_bytes / 1e6:.4g}) or keyed_by=experience")
    policy = ClassBalancedBuffer(size, adaptive_size=True) if params.keyed_by == "task" else None
    return baseline_plugins(params, ctx, Replay(size, policy, sample_bytes, budget_mb))
