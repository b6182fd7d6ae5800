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


class SmallCNN(nn.Module):
    """conv-conv-pool-fc feature extractor for small images (8x8 to 32x32)."""

    def __init__(self, in_channels: int = 1, image_size: int = 8, width: int = 16, feat_dim: int = 64):
        super().__init__()
        self.config = {"in_channels": in_channels, "image_size": image_size, "width": width,
                       "feat_dim": feat_dim}
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc = nn.Linear(2 * width * (image_size // 2) ** 2, feat_dim)
        self.feat_dim = feat_dim
        self.lora_targets = ["conv2", "fc"]

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        return F.relu(self.fc(x.flatten(1)))


class AdapterNet(nn.Module):
    """A frozen feature extractor plus a linear head over all classes (the model NSR adapts)."""

    def __init__(self, features: nn.Module, num_classes: int):
        super().__init__()
        self.features = features.requires_grad_(False)
        self.head = nn.Linear(features.feat_dim, num_classes)

    @property
    def lora_targets(self) -> list[str]:
        return [f"features.{name}" for name in self.features.lora_targets]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def cache_dir() -> Path:
    return Path(os.environ.get("NSR_CACHE_DIR") or Path.home() / ".cache" / "nsr-bench")


def _rotations(x: Tensor) -> tuple[Tensor, Tensor]:
    xs = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    ys = torch.arange(4).repeat_interleave(len(x))
    return xs, ys


def pretrain_rotation(net: nn.Module, x: Tensor, epochs: int, seed: int, lr: float = 3e-3,
                      batch_size: int = 64) -> nn.Module:
    """Train ``net`` (in place) to predict which of 4 rotations was applied to each image."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = _rotations(x)
    head = nn.Linear(net.feat_dim, 4)
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


def pretrained_small_cnn(x_pretrain: Tensor, source: str, epochs: int = 30, seed: int = 0,
                         width: int = 16, feat_dim: int = 64) -> tuple[SmallCNN, Tensor, dict]:
    """A rotation-pretrained SmallCNN, its reference feature mean, and its provenance (cached)."""
    from safetensors.torch import load_file, save_file

    in_channels, image_size = x_pretrain.shape[1], x_pretrain.shape[-1]
    recipe = {"arch": "SmallCNN", "in_channels": in_channels, "image_size": image_size, "width": width,
              "feat_dim": feat_dim, "pretext": "rotation-prediction", "epochs": epochs, "seed": seed,
              "source": source, "n_images": len(x_pretrain),
              "data_sha256": hashlib.sha256(x_pretrain.numpy().tobytes()).hexdigest()}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "backbones" / f"smallcnn-{key}.safetensors"
    net = SmallCNN(in_channels, image_size, width, feat_dim)
    if path.is_file():
        state = load_file(str(path))
        reference = state.pop("reference_mean")
        net.load_state_dict(state)
        cached = True
    else:
        with torch.random.fork_rng():  # a cache miss must not shift the caller's random stream
            torch.manual_seed(seed)
            net = SmallCNN(in_channels, image_size, width, feat_dim)
            pretrain_rotation(net, x_pretrain, epochs, seed)
        with torch.no_grad():
            reference = net(x_pretrain).mean(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        save_file({**net.state_dict(), "reference_mean": reference}, str(tmp),
                  metadata={"recipe": json.dumps(recipe)})
        tmp.replace(path)
        cached = False
    return net.eval(), reference, {**recipe, "cache_key": key, "loaded_from_cache": cached}
