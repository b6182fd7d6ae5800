"""One explicit random stream per purpose, spawned from the cell seed.

A cell never draws from the global torch/NumPy streams for its own randomness: each purpose gets its
own generator, derived by ``numpy.random.SeedSequence(seed).spawn`` order (a purpose's stream does not
depend on how much any other purpose drew). So evaluating more or less often, or in other batch sizes,
cannot move what training draws. Avalanche's own plugins (replay buffers, GEM memories) still draw from
the global stream, which the runner seeds per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PURPOSES = ("adapter_init", "data_order", "embedding", "rule", "evaluation", "targets")


@dataclass(frozen=True)
class RandomStreams:
    """The cell's random streams: ``torch(purpose)`` / ``numpy(purpose)`` / ``seed_for(purpose)``."""

    seed: int

    def seed_for(self, purpose: str) -> int:
        """A 63-bit seed for ``purpose``, the same for every call with this cell seed."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown random stream {purpose!r}; one of {PURPOSES}")
        child = np.random.SeedSequence(self.seed).spawn(len(PURPOSES))[PURPOSES.index(purpose)]
        return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def torch(self, purpose: str) -> torch.Generator:
        """A new CPU torch generator for ``purpose`` (drawn on the CPU, then copied to the device)."""
        return torch.Generator().manual_seed(self.seed_for(purpose))

    def numpy(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(purpose))
