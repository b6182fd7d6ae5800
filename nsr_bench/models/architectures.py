"""Backbone architectures: a small CNN for the CPU and the reduced ResNet-18 of the 5-Datasets literature,
pre-trained here; EfficientNet-Lite0 with published weights lives in :mod:`nsr_bench.models.efficientnet_lite`.

All are :class:`StagedBackbone`s, so a model can start part-way (the frozen-prefix feature cache,
:mod:`nsr_bench.scenarios.feature_cache`).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from torch import Tensor, nn
from torch.nn import functional as F


class StagedBackbone(nn.Module):
    """A backbone whose forward is a fixed sequence of stages, so that it can start part-way.

    ``STAGES[i]`` names the submodules stage i runs; ``stage(i, x)`` runs it. ``start`` (0 by default)
    is the first stage :meth:`forward` runs: with the frozen-prefix feature cache the input is the
    output of stages ``0..start-1``, computed once (:mod:`nsr_bench.scenarios.feature_cache`).
    """

    STAGES: tuple[tuple[str, ...], ...] = ()
    start = 0

    def stage(self, i: int, x: Tensor) -> Tensor:
        raise NotImplementedError

    @classmethod
    def published_file(cls) -> Path | None:
        """The file of the published weights this architecture loads; None: it is pre-trained here."""
        return None

    def load_pretrained(self) -> dict | None:
        """Load the published weights and return their provenance; None where there are none."""
        return None

    def forward(self, x: Tensor) -> Tensor:
        for i in range(self.start, len(self.STAGES)):
            x = self.stage(i, x)
        return x


class SmallCNN(StagedBackbone):
    """conv-conv-pool-fc feature extractor for small images (8x8 to 32x32)."""

    STAGES = (("conv1",), ("conv2",), ("fc",))
    MIN_IMAGE_SIZE = 2  # the 2x2 pooling must leave at least one pixel for fc

    def __init__(self, in_channels: int = 1, image_size: int = 8, width: int = 16, feat_dim: int = 64):
        super().__init__()
        self.config = {"in_channels": in_channels, "image_size": image_size, "width": width,
                       "feat_dim": feat_dim}
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc = nn.Linear(2 * width * (image_size // 2) ** 2, feat_dim)
        self.feat_dim = feat_dim
        self.lora_targets = ["conv2", "fc"]

    def stage(self, i: int, x: Tensor) -> Tensor:
        if i == 0:
            return F.relu(self.conv1(x))
        if i == 1:
            return F.relu(F.max_pool2d(self.conv2(x), 2))  # = pool(relu(.)) exactly, on 4x fewer values
        return F.relu(self.fc(x.flatten(1)))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18Reduced(StagedBackbone):
    """The reduced ResNet-18 of the 5-Datasets literature (nf=20 base width).

    Lopez-Paz & Ranzato (GEM, 2017); Saha et al. (GPM, ICLR 2021); Ebrahimi et al. (ACL, 2020).
    BatchNorm layers are frozen with the backbone and run in eval mode inside the frozen model.
    """

    STAGES = (("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4.0",), ("layer4.1",))
    MIN_IMAGE_SIZE = 1  # padded convolutions and adaptive pooling take any size

    def __init__(self, in_channels: int = 3, image_size: int = 32, width: int = 20):
        super().__init__()
        self.config = {"in_channels": in_channels, "image_size": image_size, "width": width}
        nf = width
        self.conv1 = nn.Conv2d(in_channels, nf, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        layers, cin = [], nf
        for i, mult in enumerate((1, 2, 4, 8)):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, nf * mult, stride),
                                        BasicBlock(nf * mult, nf * mult, 1)))
            cin = nf * mult
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.feat_dim = 8 * nf
        self.lora_targets = ["layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"]

    def stage(self, i: int, x: Tensor) -> Tensor:
        if i == 0:
            return F.relu(self.bn1(self.conv1(x)))
        if i < 4:
            return getattr(self, f"layer{i}")(x)
        x = self.layer4[i - 4](x)
        return x if i == 4 else F.adaptive_avg_pool2d(x, 1).flatten(1)


ARCHS = {"small_cnn": SmallCNN, "resnet18_reduced": ResNet18Reduced}


def architecture(arch: str) -> type[StagedBackbone]:
    """The class of backbone ``arch``: one of :data:`ARCHS` or ``efficientnet_lite0`` (published ImageNet
    weights, :mod:`nsr_bench.models.efficientnet_lite`: imported on use, as it imports timm)."""
    if arch == "efficientnet_lite0":
        from nsr_bench.models.efficientnet_lite import EfficientNetLite0

        return EfficientNetLite0
    if arch not in ARCHS:
        raise ValueError(f"unknown backbone {arch!r}; choose one of {[*sorted(ARCHS), 'efficientnet_lite0']}")
    return ARCHS[arch]


def make_backbone(arch: str, in_channels: int, image_size: int, width: int | None = None,
                  **options: int | None) -> nn.Module:
    """An untrained backbone for ``in_channels`` x ``image_size`` inputs; ``width`` and ``options`` (e.g.
    ``input_size``, ``lora_blocks``) are its own keyword arguments, where not None."""
    cls = architecture(arch)
    smallest = cls.MIN_IMAGE_SIZE
    if image_size < smallest or in_channels < 1:
        raise ValueError(f"{arch} takes images of at least {smallest}x{smallest} pixels and 1 channel, got "
                         f"image size {image_size} with {in_channels} channels")
    kwargs = {k: v for k, v in {"width": width, **options}.items() if v is not None}
    unknown = sorted(set(kwargs) - set(inspect.signature(cls).parameters))
    if unknown:
        raise ValueError(f"backbone {arch} takes no {', '.join(unknown)}")
    return cls(in_channels=in_channels, image_size=image_size, **kwargs)
