"""Frozen backbones obtained honestly: self-supervised pre-training on held-out images, cached by hash.

Weights come from rotation prediction (Gidaris et al., "Unsupervised Representation Learning by
Predicting Image Rotations", ICLR 2018) on images held out from every evaluated task; labels are never
used. The result is memoised as safetensors under ``$NSR_CACHE_DIR/backbones`` (:mod:`nsr_bench.memo`) by the
architecture, the pre-training recipe, the exact pre-training data, this module's code and the environment;
a user's weights file replaces it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from nsr_bench.memo import memoised, read_tensors, recipe, tensor_digest, write_tensors
from nsr_bench.models.architectures import make_backbone
from nsr_bench.models.weights import load_weights
from nsr_bench.training.inference import batched, evaluating


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


def obtain_backbone(arch: str, x_pretrain: Tensor, source: str, epochs: int = 30, seed: int = 0,
                    width: int | None = None, weights: str | None = None,
                    device: str = "cpu", **options: int | None) -> tuple[nn.Module, Tensor, dict]:
    """A frozen backbone (on the CPU), its reference feature mean and its provenance.

    ``options``: the architecture's own keyword arguments (:func:`make_backbone`). With ``weights`` the
    user's file is loaded, else the architecture's published weights where it has them (EfficientNet-Lite0's
    ImageNet weights, loaded on the CPU); otherwise the backbone is pre-trained on ``device``
    by rotation prediction on ``x_pretrain`` (images held out from every evaluated task, labels
    unused), memoised (:mod:`nsr_bench.memo`) by the recipe, the exact data, this module's code and
    the environment (library versions, device name and CPU threads: their arithmetic differs in the
    last bits).
    """
    in_channels, image_size = x_pretrain.shape[1], x_pretrain.shape[-1]
    net = make_backbone(arch, in_channels, image_size, width, **options)
    info = load_weights(net, weights) if weights else net.load_pretrained()
    if info is not None:
        with evaluating(net):
            reference = batched(net, x_pretrain[:512], 128).mean(0)
        return net.eval(), reference, {"arch": arch, **net.config, **info, "pretext": None}
    spec = {"arch": arch, **net.config, "pretext": "rotation-prediction", "epochs": epochs, "seed": seed,
            "source": source, "n_images": len(x_pretrain), "data_sha256": tensor_digest(x_pretrain)}
    rec = recipe("backbones", arch, spec, (__name__,), device)

    def pretrain() -> dict[str, Tensor]:
        with torch.random.fork_rng():  # a cache miss must not shift the caller's random stream
            torch.manual_seed(seed)
            fresh = make_backbone(arch, in_channels, image_size, width, **options).to(device)
            x_dev = x_pretrain.to(device)
            pretrain_rotation(fresh, x_dev, epochs, seed)
            with evaluating(fresh):
                reference = batched(fresh, x_dev).mean(0).cpu()
        return {**{k: v.cpu() for k, v in fresh.state_dict().items()}, "reference_mean": reference}

    state, cached = memoised(rec, pretrain, write_tensors, read_tensors, ".safetensors")
    state = dict(state)
    reference = state.pop("reference_mean")
    net.load_state_dict(state)
    return net.eval(), reference, {**spec, **rec.env, "cache_key": rec.key, "loaded_from_cache": cached}
