"""Frozen-prefix feature cache: compute the frozen part of the backbone once per dataset.

When adapters (and every trainable parameter) sit in the backbone's later stages, the outputs of the
stages before them never change: not across epochs, recurrences, strategies or seeds. They are
computed once, memoised under ``$NSR_CACHE_DIR/features`` as safetensors (:mod:`nsr_bench.memo`) keyed by
the backbone architecture, the prefix's weights, the exact input tensor, the code and the environment (so
a new backbone, a new split point or new data is a miss, never a stale hit), and the backbone then starts
at the first adapted stage (``backbone.start``). Set ``NSR_FEATURE_CACHE=0`` to switch it off.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from nsr_bench.memo import Recipe, memoised, read_tensors, recipe, tensor_digest, write_tensors
from nsr_bench.training.inference import batched, evaluating


def enabled() -> bool:
    """False when ``NSR_FEATURE_CACHE`` is set to 0, false, no or off."""
    return os.environ.get("NSR_FEATURE_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def first_adapted_stage(backbone: nn.Module, adapted: set[str]) -> int:
    """Index of the first stage owning an adapted (LoRA target) or trainable module of ``backbone``;
    ``len(backbone.STAGES)`` when there is none (the whole backbone is frozen)."""
    names = set(adapted) | {n.rpartition(".")[0] for n, p in backbone.named_parameters() if p.requires_grad}
    for i, owned in enumerate(backbone.STAGES):
        if any(n == o or n.startswith(o + ".") for n in names for o in owned):
            return i
    return len(backbone.STAGES)


def prefix_recipe(backbone: nn.Module, end: int, x: Tensor, device: str = "cpu") -> Recipe:
    """The key recipe of a prefix output: architecture, split point, the prefix's weights, the input, the
    code of this module and of the architectures, and the environment (device, CPU threads) computing it."""
    owned = [o for stage in backbone.STAGES[:end] for o in stage]
    prefix = {n: t for n, t in backbone.state_dict().items() if any(n.startswith(o + ".") for o in owned)}
    spec = {"arch": type(backbone).__name__, **backbone.config, "end": end,
            "weights_sha256": tensor_digest(prefix), "input_sha256": tensor_digest(x)}
    return recipe("features", "prefix", spec, (__name__, "nsr_bench.models.architectures"), device)


def prefix_features(backbone: nn.Module, x: Tensor, end: int, batch_size: int = 512) -> Tensor:
    """Outputs of the backbone's first ``end`` stages (eval mode), computed in batches."""
    def prefix(h: Tensor) -> Tensor:
        for stage in range(end):
            h = backbone.stage(stage, h)
        return h

    with evaluating(backbone):
        return batched(prefix, x, batch_size)


def cached_prefix(backbone: nn.Module, x: Tensor, end: int, device: str = "cpu") -> tuple[Tensor, bool]:
    """``prefix_features`` computed on ``device``, or read from the memoised copy when it verifies;
    returns (features on the CPU, was_a_hit)."""
    def compute() -> dict[str, Tensor]:
        return {"features": prefix_features(backbone.to(device), x.to(device), end).cpu()}

    out, hit = memoised(prefix_recipe(backbone, end, x, device), compute, write_tensors, read_tensors,
                        ".safetensors")
    return out["features"], hit


def apply_feature_cache(scenario, backbone: nn.Module, adapted: set[str], device: str = "cpu") -> dict:
    """Replace the scenario's inputs by cached prefix outputs and start ``backbone`` after the prefix.

    ``backbone`` is the model's own copy (``model.features``); ``adapted`` holds the backbone-relative
    names of adapted modules. Returns what was done, for the manifest.
    """
    if not enabled():
        return {"used": False, "reason": "NSR_FEATURE_CACHE=0"}
    end = first_adapted_stage(backbone, adapted)
    if end == 0:
        return {"used": False, "reason": "the first backbone stage is adapted or trainable"}
    outputs: dict[int, Tensor] = {}  # by tensor identity: a pool shared by occurrences is computed once
    hits = misses = 0

    def prefix(x: Tensor) -> Tensor:
        nonlocal hits, misses
        if id(x) not in outputs:
            out, hit = cached_prefix(backbone, x, end, device)  # held channels-last, the layout the model reads
            outputs[id(x)] = out.contiguous(memory_format=torch.channels_last) if out.dim() == 4 else out
            hits, misses = hits + hit, misses + (not hit)
        return outputs[id(x)]

    scenario.train_data = [(prefix(x), y) for x, y in scenario.train_data]
    for task in scenario.tasks:
        task.x_train, task.x_val, task.x_test = prefix(task.x_train), prefix(task.x_val), prefix(task.x_test)
    backbone.start = end
    return {"used": True, "prefix_stages": end, "of_stages": len(backbone.STAGES),
            "hits": hits, "misses": misses}
