"""Minibatches sliced from in-memory tensors, instead of per-sample dataset indexing and collation.

Our scenarios hold every task as tensors; :meth:`Scenario.benchmark` attaches them to each Avalanche
experience as ``experience.tensors = (x, y)``. Slicing a batch out of a tensor costs one indexing op
where ``AvalancheDataset.__getitem__`` plus the default collate cost a Python call chain per sample.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class TensorBatchLoader:
    """Iterate ``[x, y, task]`` minibatches of in-memory tensors (the shape Avalanche's loaders yield).

    The tensors are moved to ``device`` once. ``indices`` holds the sample indices of the batch being
    served, so per-sample quantities precomputed for the whole experience (e.g. distillation targets)
    can be looked up. Shuffling draws from ``generator`` (the cell's data-order stream; torch's global
    generator if None, as ``DataLoader`` does).
    """

    def __init__(self, x: Tensor, y: Tensor, task: int, batch_size: int, shuffle: bool,
                 device: torch.device | str = "cpu", generator: torch.Generator | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y = x.to(device), y.to(device)
        self.t = torch.full_like(self.y, task)
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.indices: Tensor | None = None

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.y.device)
        for start in range(0, n, self.batch_size):
            self.indices = order[start:start + self.batch_size]
            yield [self.x[self.indices], self.y[self.indices], self.t[self.indices]]
        self.indices = None


def sample_experience(experience, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Up to ``n`` random ``(x, y)`` samples of an experience (its tensors if it has them)."""
    tensors = getattr(experience, "tensors", None)
    if tensors is None:
        loader = torch.utils.data.DataLoader(experience.dataset.eval(), batch_size=n, shuffle=True,
                                             generator=generator)
        x, y, *_ = next(iter(loader))
        return x, y
    x, y = tensors
    idx = torch.randperm(len(y), generator=generator)[:n]
    return x[idx], y[idx]


def experience_classes(experience) -> list[int]:
    """The sorted class labels present in an Avalanche experience's dataset."""
    return sorted(int(c) for c in experience.dataset.targets.uniques)
