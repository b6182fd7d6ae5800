"""What a recurring task trains on: the same data, a new draw of its pool, or a new draw under drift.

``same`` replays the task's whole training pool at every occurrence (the old protocol: a recurrence's
embedding is then identical to the stored key, and recall is trivially perfect). ``resample`` (the
default) draws every occurrence anew from the pool, class by class, preferring samples the previous
occurrence did not use, so consecutive occurrences share no sample where the pool holds two draws.
``drift`` also shifts the inputs by a seeded transform (rotation, contrast, brightness, noise) whose
strength grows with the recurrence index: recall must then work under distribution shift. The test and
validation sets are never drifted: they measure the task itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

RECURRENCE_MODES = ("same", "resample", "drift")


def occurrence_indices(y: Tensor, occurrences: int, per_class: int | None,
                       rng: np.random.Generator) -> list[np.ndarray]:
    """Indices of ``y`` for each occurrence: ``per_class`` samples per class (default half the class's pool),
    drawn first from the samples the previous occurrence did not use."""
    labels = y.numpy()
    draws: list[np.ndarray] = []
    previous: set[int] = set()
    for _ in range(occurrences):
        chosen = []
        for c in np.unique(labels):
            pool = np.flatnonzero(labels == c)
            n = min(len(pool), per_class or max(1, len(pool) // 2))
            fresh = rng.permutation([i for i in pool if i not in previous])
            used = rng.permutation([i for i in pool if i in previous])
            chosen.append(np.concatenate([fresh, used])[:n].astype(np.int64))
        draw = np.sort(np.concatenate(chosen))
        draws.append(draw)
        previous = set(draw.tolist())
    return draws


def drift(x: Tensor, strength: float, rng: np.random.Generator) -> Tensor:
    """``x`` rotated, contrast-scaled, shifted in brightness and noised, all scaled by ``strength``
    (0: unchanged); the transform's direction is drawn once from ``rng``."""
    if strength <= 0:
        return x
    angle = math.radians(30.0 * strength) * rng.choice([-1.0, 1.0])
    contrast = 1.0 + 0.5 * strength * rng.choice([-1.0, 1.0])
    brightness = 0.2 * strength * rng.choice([-1.0, 1.0])
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean + brightness
    noise = torch.from_numpy(rng.normal(0.0, 0.1 * strength, size=tuple(x.shape))).to(x.dtype)
    return out + noise


def occurrences(x: Tensor, y: Tensor, count: int, mode: str, per_class: int | None, strength: float,
                rng: np.random.Generator) -> list[tuple[Tensor, Tensor]]:
    """The training tensors of ``count`` occurrences of one task under ``mode``."""
    if mode not in RECURRENCE_MODES:
        raise ValueError(f"unknown recurrence {mode!r}; choose one of {RECURRENCE_MODES}")
    if mode == "same":
        return [(x, y)] * count
    out = []
    for c, idx in enumerate(occurrence_indices(y, count, per_class, rng)):
        xs = x[torch.from_numpy(idx)]
        out.append((drift(xs, strength * c, rng) if mode == "drift" else xs, y[torch.from_numpy(idx)]))
    return out
