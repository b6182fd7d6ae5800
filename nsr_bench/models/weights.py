"""Loading a user's backbone weights (safetensors, or a state dict read with ``weights_only=True``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


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
