"""LoRA adapters for ``nn.Linear`` and ``nn.Conv2d`` on a frozen backbone.

Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022.
A wrapped layer computes ``W x + (alpha / r) * B A x``; ``W`` stays frozen. Exactly one adapter is
*active* per layer; NSR swaps its values (fresh, recalled, merged) without creating new parameters,
so the optimizer built by Avalanche keeps seeing the same tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from nsr_bench.nsr.compress import lowrank_svd


class LoRALayer(nn.Module):
    """Common state and forward of a LoRA-wrapped layer: the frozen base layer, factors ``A``/``B`` and scale;
    a subclass gives the base operation with another weight and the low-rank product."""

    def __init__(self, base: nn.Module, rank: int, alpha: float, a_shape: tuple[int, ...], out: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        limit = min(out, math.prod(a_shape))
        if rank > limit:
            raise ValueError(f"LoRA rank {rank} exceeds what a {type(base).__name__} with {out} outputs and "
                             f"fan-in {math.prod(a_shape)} can use; choose rank <= {limit}")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.rank = rank
        self.scale = alpha / rank
        self.enabled = True
        self.lora_A = nn.Parameter(torch.empty(rank, *a_shape))
        self.lora_B = nn.Parameter(torch.zeros(out, rank))
        self.reset_adapter(generator)

    def forward(self, x: Tensor) -> Tensor:
        """``base(x)`` plus the update. While autograd records, the factored path, so gradients reach ``A``
        and ``B``; with autograd off (evaluations, curve points, teacher outputs, probes), one call of the base
        operation with the merged weight ``W + (alpha / r) B A``: the same function to float rounding."""
        if not self.enabled:
            return self.base(x)
        if not torch.is_grad_enabled():
            return self._with_weight(x, self.base.weight + self.delta_weight())
        return self.base(x) + self.scale * self._low_rank(x)

    def _with_weight(self, x: Tensor, weight: Tensor) -> Tensor:
        """The base layer's operation on ``x`` with ``weight`` in place of its own (its bias kept)."""
        raise NotImplementedError

    def _low_rank(self, x: Tensor) -> Tensor:
        """``B A x`` in the base layer's geometry (unscaled)."""
        raise NotImplementedError

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return tuple(self.base.weight.shape)

    def reset_adapter(self, generator: torch.Generator | None = None) -> None:
        """A fresh adapter: ``A`` Kaiming-uniform, ``B`` zero, so Delta W = 0."""
        with torch.no_grad():
            fan_in = self.lora_A[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            # drawn where the generator lives (the CPU), so a seed gives the same adapter on any device
            fresh = torch.empty(self.lora_A.shape).uniform_(-bound, bound, generator=generator)
            self.lora_A.copy_(fresh)
            self.lora_B.zero_()

    def delta_factors(self) -> tuple[Tensor, Tensor]:
        """``(L, R)`` with ``L @ R`` the flattened update ``(alpha / r) B A`` (out x fan-in)."""
        return self.scale * self.lora_B, self.lora_A.reshape(self.rank, -1)

    def delta_weight(self) -> Tensor:
        """The dense update ``(alpha / r) B A`` in the base weight's shape."""
        left, right = self.delta_factors()
        return (left @ right).reshape(self.weight_shape)

    def load_factors(self, left: Tensor, right: Tensor, generator: torch.Generator | None = None) -> None:
        """Set the adapter to the best rank-r approximation of the update ``left @ right``
        (flattened, out x fan-in), e.g. a weighted sum of Bank entries stacked along the inner axis.

        Unused rank directions get a fresh ``A`` row and a zero ``B`` column, so they remain trainable.
        """
        device = self.lora_A.device
        U, S, Vh = lowrank_svd(left.to(device), right.to(device))
        k = min(self.rank, int((S > 0).sum()))
        root = torch.sqrt(S[:k] / self.scale)
        self.reset_adapter(generator)
        with torch.no_grad():
            self.lora_B[:, :k] = U[:, :k] * root
            self.lora_A.view(self.rank, -1)[:k] = root[:, None] * Vh[:k]


class LoRALinear(LoRALayer):
    """``nn.Linear`` plus a low-rank update."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, generator: torch.Generator | None = None):
        super().__init__(base, rank, alpha, (base.in_features,), base.out_features, generator)

    def _with_weight(self, x: Tensor, weight: Tensor) -> Tensor:
        return F.linear(x, weight, self.base.bias)

    def _low_rank(self, x: Tensor) -> Tensor:
        return F.linear(F.linear(x, self.lora_A), self.lora_B)


class LoRAConv2d(LoRALayer):
    """``nn.Conv2d`` plus a low-rank update: a rank-r conv with the base geometry, then a 1x1 conv."""

    def __init__(self, base: nn.Conv2d, rank: int, alpha: float, generator: torch.Generator | None = None):
        if base.groups != 1:
            raise ValueError("LoRAConv2d supports groups=1 convolutions only")
        kh, kw = base.kernel_size
        super().__init__(base, rank, alpha, (base.in_channels, kh, kw), base.out_channels, generator)

    def _with_weight(self, x: Tensor, weight: Tensor) -> Tensor:
        b = self.base
        return F.conv2d(x, weight, b.bias, b.stride, b.padding, b.dilation)

    def _low_rank(self, x: Tensor) -> Tensor:
        b = self.base
        z = F.conv2d(x, self.lora_A, None, b.stride, b.padding, b.dilation)
        return F.conv2d(z, self.lora_B[:, :, None, None])


def attach_lora(model: nn.Module, targets: list[str], rank: int, alpha: float,
                generator: torch.Generator | None = None) -> dict[str, LoRALayer]:
    """Replace the named Linear/Conv2d submodules of ``model`` by LoRA-wrapped ones (idempotent); new
    adapters are initialised from ``generator`` (torch's global stream if None)."""
    modules = dict(model.named_modules())
    layers: dict[str, LoRALayer] = {}
    for name in targets:
        module = modules.get(name)
        if module is None:
            valid = [n for n, m in modules.items() if isinstance(m, nn.Linear | nn.Conv2d)]
            raise ValueError(f"LoRA target {name!r} is not a module of the model; valid targets: {valid}")
        if isinstance(module, LoRALayer):
            layers[name] = module
            continue
        if isinstance(module, nn.Conv2d):
            wrapped: LoRALayer = LoRAConv2d(module, rank, alpha, generator)
        elif isinstance(module, nn.Linear):
            wrapped = LoRALinear(module, rank, alpha, generator)
        else:
            raise ValueError(f"LoRA target {name!r} is a {type(module).__name__}; only Linear and Conv2d")
        wrapped.to(module.weight.device)
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else model, child, wrapped)
        layers[name] = wrapped
    return layers


def lora_layers(model: nn.Module) -> dict[str, LoRALayer]:
    """The LoRA layers of ``model`` keyed by the name of the layer they wrap."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALayer)}


@contextmanager
def adapters_disabled(model: nn.Module) -> Iterator[None]:
    """Run ``model`` as the bare frozen backbone (every adapter switched off)."""
    layers = list(lora_layers(model).values())
    previous = [layer.enabled for layer in layers]
    for layer in layers:
        layer.enabled = False
    try:
        yield
    finally:
        for layer, was in zip(layers, previous, strict=True):
            layer.enabled = was
