"""Analytic Bank memory: the bytes one entry of a named configuration stores, and the rank a figure implies.

An entry (:class:`~nsr_bench.nsr.bank.BankEntry`) holds its key (the backbone's feature dimension, fp32),
the head rows of its classes (weights and biases) and, per adapted layer of weight shape
``out x fan_in``, the truncated SVD factors U (out x k), S (k) and Vh (k x fan_in) of its LoRA update,
all but the key in the storage dtype. k is the stored rank: at most the LoRA rank (energy compression may
keep fewer; ``fixed_rank`` sets it). With one entry per task (cap >= tasks, each recurrence recalling its
own entry) bytes per entry are bytes per task. Shapes are read from the real modules, built on PyTorch's
``meta`` device (no memory, no weights): the suite's backbones, torchvision's ResNet-18 and ViT-B/16.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

from nsr_bench.nsr.compress import DTYPES

BACKBONES = ("small_cnn", "resnet18_reduced", "resnet18", "vit_b_16")
DEFAULT_LAYERS = {  # the suite's own targets; the same blocks of torchvision's ResNet-18; LoRA's q and v
    "resnet18": ["layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"],
    "vit_b_16": ["*.q", "*.v"],
}


@dataclass(frozen=True)
class Backbone:
    name: str
    feat_dim: int
    shapes: dict[str, tuple[int, int]]  # adaptable layer -> (out, fan_in)
    default_layers: list[str]


def backbone(name: str, in_channels: int = 3, image_size: int = 32) -> Backbone:
    """The adaptable layers (Linear, Conv2d, and attention's q/k/v) of backbone ``name`` and their shapes."""
    import torch

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    with torch.device("meta"):
        if name in ("small_cnn", "resnet18_reduced"):
            from nsr_bench.models.architectures import make_backbone

            model = make_backbone(name, in_channels, image_size)
            feat_dim, layers = model.feat_dim, list(model.lora_targets)
        else:
            import torchvision

            model = getattr(torchvision.models, name)()
            feat_dim = model.fc.in_features if name == "resnet18" else model.hidden_dim
            layers = DEFAULT_LAYERS[name]
    return describe(name, model, feat_dim, layers)


def describe(name: str, model, feat_dim: int, default_layers: list[str]) -> Backbone:
    """The adaptable layers (Linear, Conv2d, and attention's q/k/v) of the built module ``model``."""
    from torch import nn

    shapes = {}
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            shapes[module_name] = (module.weight.shape[0], math.prod(module.weight.shape[1:]))
        elif isinstance(module, nn.MultiheadAttention):
            d = module.embed_dim
            shapes.update({f"{module_name}.{p}": (d, d) for p in "qkv"})
    return Backbone(name, feat_dim, shapes, default_layers)


def select_layers(net: Backbone, patterns: list[str] | None) -> dict[str, tuple[int, int]]:
    """The layers matching any of ``patterns`` (shell globs; default: the backbone's default targets)."""
    patterns = patterns or net.default_layers
    chosen = {n: s for n, s in net.shapes.items() if any(fnmatch.fnmatchcase(n, p) for p in patterns)}
    if not chosen:
        names = ", ".join(list(net.shapes)[:12])
        raise ValueError(f"no layer of {net.name} matches {patterns}; give globs over its layers: {names} ...")
    return chosen


def entry_bytes(net: Backbone, layers: dict[str, tuple[int, int]], rank: int | dict[str, int], dtype: str = "fp32",
                classes: int = 2) -> dict[str, int]:
    """Bytes of one Bank entry, by part (``key``, ``head``, ``adapters``) and in ``total``; ``rank`` is the
    stored rank of every layer, or per layer (capped at min(out, fan_in), as the SVD is)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown storage dtype {dtype!r}; choose one of {sorted(DTYPES)}")
    size = DTYPES[dtype].itemsize
    ranks = rank if isinstance(rank, dict) else dict.fromkeys(layers, rank)
    adapters = sum(min(ranks[n], out, fan_in) * (out + fan_in + 1) * size for n, (out, fan_in) in layers.items())
    parts = {"key": net.feat_dim * 4, "head": classes * (net.feat_dim + 1) * size, "adapters": adapters}
    return {**parts, "total": sum(parts.values())}


def bank_bound(net: Backbone, layers: dict[str, tuple[int, int]], rank: int, dtype: str, cap: int,
               experience_classes: list[int], num_classes: int) -> int:
    """The most bytes a Bank of cap ``cap`` can hold on a stream whose experiences have
    ``experience_classes`` classes each (of ``num_classes``), every layer stored at rank ``rank``.

    Every experience reserves one entry: a new one (fresh, merge) or the one it recalled, which then also
    keeps this experience's classes. So at most min(cap, experiences) entries, each with a key and its
    adapters, and at most one head row per class of every experience (and ``num_classes`` per entry).
    """
    entries = min(cap, len(experience_classes))
    fixed = entry_bytes(net, layers, rank, dtype, classes=0)["total"]
    row = entry_bytes(net, layers, rank, dtype, classes=1)["total"] - fixed
    return entries * fixed + min(sum(experience_classes), entries * num_classes) * row


def implied_rank(net: Backbone, layers: dict[str, tuple[int, int]], mb: float, dtype: str = "fp32",
                 classes: int = 2) -> float:
    """The (fractional) uniform stored rank at which one entry takes ``mb`` MB (10^6 bytes); negative when
    the key and head alone exceed it. Exact while the rank stays below every layer's min(out, fan_in)."""
    fixed = entry_bytes(net, layers, 0, dtype, classes)["total"]
    per_rank = entry_bytes(net, layers, 1, dtype, classes)["total"] - fixed
    return (mb * 1e6 - fixed) / per_rank
