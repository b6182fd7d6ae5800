"""Frozen backbones: architectures, honest pre-training, and a cache keyed by a hash.

The CPU backbone is a small CNN. Its weights are obtained by self-supervised rotation prediction
(Gidaris et al., "Unsupervised Representation Learning by Predicting Image Rotations", ICLR 2018)
on images held out from every evaluated task; labels are never used. The result is cached as
safetensors under ``$NSR_CACHE_DIR/backbones`` (default ``~/.cache/nsr-bench``) by the hash of
the architecture, the pre-training recipe and the exact pre-training data.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from nsr_bench.training.inference import batched, evaluating


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

    def forward(self, x: Tensor) -> Tensor:
        for i in range(self.start, len(self.STAGES)):
            x = self.stage(i, x)
        return x


class SmallCNN(StagedBackbone):
    """conv-conv-pool-fc feature extractor for small images (8x8 to 32x32)."""

    STAGES = (("conv1",), ("conv2",), ("fc",))

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
            return F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc(x.flatten(1)))


class AdapterNet(nn.Module):
    """A frozen feature extractor plus a linear head over all classes (the model NSR adapts).

    While ``frozen_backbone`` is set, the backbone's BatchNorm layers stay in eval mode even when
    the model trains, so their running statistics are part of the frozen weights.
    """

    def __init__(self, features: nn.Module, num_classes: int):
        super().__init__()
        self.features = features.requires_grad_(False)
        self.head = nn.Linear(features.feat_dim, num_classes)
        self.frozen_backbone = True

    def train(self, mode: bool = True) -> AdapterNet:
        super().train(mode)
        if self.frozen_backbone:
            for m in self.features.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    @property
    def lora_targets(self) -> list[str]:
        return [f"features.{name}" for name in self.features.lora_targets]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def cache_dir() -> Path:
    return Path(os.environ.get("NSR_CACHE_DIR") or Path.home() / ".cache" / "nsr-bench")


def save_atomic(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors cache file through a per-process temporary file and a rename, so that a
    concurrent or killed writer never leaves a half-written file under the final name."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    tmp.replace(path)


def _rotations(x: Tensor) -> tuple[Tensor, Tensor]:
    xs = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    ys = torch.arange(4).repeat_interleave(len(x))
    return xs, ys


def pretrain_rotation(net: nn.Module, x: Tensor, epochs: int, seed: int, lr: float = 3e-3,
                      batch_size: int = 64) -> nn.Module:
    """Train ``net`` (in place, on ``x``'s device) to predict which of 4 rotations was applied."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = _rotations(x)
    ys = ys.to(x.device)
    head = nn.Linear(net.feat_dim, 4).to(x.device)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=lr)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xs), generator=gen)
        for i in range(0, len(xs), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(head(net(xs[idx])), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


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


def make_backbone(arch: str, in_channels: int, image_size: int, width: int | None = None) -> nn.Module:
    if arch not in ARCHS:
        raise ValueError(f"unknown backbone {arch!r}; choose one of {sorted(ARCHS)}")
    kwargs = {"width": width} if width else {}
    return ARCHS[arch](in_channels=in_channels, image_size=image_size, **kwargs)


def load_weights(net: nn.Module, path: str | Path) -> dict:
    """Load user weights (safetensors, or a torch state dict read with ``weights_only=True``).

    Keys may carry a ``features.`` or ``backbone.`` prefix (as in torchvision/timm checkpoints of a
    wrapped model); unmatched keys are reported, and a file matching none of them is an error.
    """
    from nsr_bench.config import SpecError

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
    except FileNotFoundError:
        raise SpecError(f"backbone weights {path}: no such file") from None
    except Exception as exc:  # torch/safetensors raise many types for foreign or damaged files
        raise SpecError(f"backbone weights {path}: not a readable state dict ({exc})") from None
    if not isinstance(state, dict):
        raise SpecError(f"backbone weights {path}: expected a state dict, got {type(state).__name__}")
    own = net.state_dict()
    matched = {}
    for key, value in state.items():
        name = key.removeprefix("features.").removeprefix("backbone.")
        if name in own and own[name].shape == value.shape:
            matched[name] = value
    if not matched:
        raise SpecError(f"backbone weights {path}: none of its {len(state)} tensors fit a "
                        f"{type(net).__name__} (expected keys such as {list(own)[:3]})")
    net.load_state_dict(matched, strict=False)
    return {"weights": str(path), "matched": len(matched), "missing": len(own) - len(matched),
            "unexpected": len(state) - len(matched)}


def obtain_backbone(arch: str, x_pretrain: Tensor, source: str, epochs: int = 30, seed: int = 0,
                    width: int | None = None, weights: str | None = None,
                    device: str = "cpu") -> tuple[nn.Module, Tensor, dict]:
    """A frozen backbone (on the CPU), its reference feature mean and its provenance.

    With ``weights`` the user's file is loaded; otherwise the backbone is pre-trained on ``device``
    by rotation prediction on ``x_pretrain`` (images held out from every evaluated task, labels
    unused) and cached by the hash of the recipe (device type included: GPU and CPU arithmetic
    differ in the last bits) and the exact data.
    """
    from safetensors.torch import load_file

    in_channels, image_size = x_pretrain.shape[1], x_pretrain.shape[-1]
    net = make_backbone(arch, in_channels, image_size, width)
    if weights:
        info = load_weights(net, weights)
        with torch.no_grad():
            reference = net.eval()(x_pretrain[:512]).mean(0)
        return net.eval(), reference, {"arch": arch, **net.config, **info, "pretext": None}
    recipe = {"arch": arch, **net.config, "pretext": "rotation-prediction", "epochs": epochs,
              "seed": seed, "source": source, "n_images": len(x_pretrain), "device": torch.device(device).type,
              "data_sha256": hashlib.sha256(x_pretrain.numpy().tobytes()).hexdigest()}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "backbones" / f"{arch}-{key}.safetensors"
    if path.is_file():
        state = load_file(str(path))
        reference = state.pop("reference_mean")
        net.load_state_dict(state)
        cached = True
    else:
        with torch.random.fork_rng():  # a cache miss must not shift the caller's random stream
            torch.manual_seed(seed)
            net = make_backbone(arch, in_channels, image_size, width).to(device)
            x_dev = x_pretrain.to(device)
            pretrain_rotation(net, x_dev, epochs, seed)
            with evaluating(net):
                reference = batched(net, x_dev).mean(0).cpu()
            net.cpu()
        save_atomic({**net.state_dict(), "reference_mean": reference}, path, {"recipe": json.dumps(recipe)})
        cached = False
    return net.eval(), reference, {**recipe, "cache_key": key, "loaded_from_cache": cached}
