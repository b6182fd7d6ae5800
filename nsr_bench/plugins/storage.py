"""How a method that stores samples keeps their inputs, and what one stored sample costs.

Every scenario input is a float tensor. Where the source's pixels are integers (uint8 images: CIFAR-10,
GTSRB, the MNIST family; scikit-learn's digits, grey levels 0-16), the scenario's inputs are ``k / levels``
(``Scenario.input_levels``), and a replay buffer keeps the integer codes ``k`` as uint8 (1 byte per value)
and divides on read. :func:`input_storage` chooses uint8 only when that round trip gives every training
input back bit for bit (a resized, channel-mixed or drifted input does not, and is kept at its own dtype),
so the price is what a buffer at that dtype holds, and reading it back trains exactly as the float inputs
do. Every method that stores samples (replay, GEM, A-GEM, cumulative) prices them with
:meth:`InputStorage.sample_bytes` of the scenario's inputs, read at build time (before the frozen-prefix
cache replaces them by features: the cache is a way of computing, not something a method stores).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

LABEL_BYTES = 16
"""A stored sample's class and task labels, as int64 each."""

CODE_DTYPE = torch.uint8
CODE_MAX = torch.iinfo(CODE_DTYPE).max


@dataclass(frozen=True)
class InputStorage:
    """How stored inputs are held: as uint8 codes ``k`` of inputs ``k / levels``, or (``levels`` None) as is.

    Attributes:
        levels: the inputs' integer levels (inputs are ``k / levels``, 0 <= k <= levels <= 255), or None.
        dtype: the dtype a stored input is held in.
    """

    levels: int | None
    dtype: torch.dtype

    def encode(self, x: Tensor) -> Tensor:
        """``x`` as stored."""
        if self.levels is None:
            return x.to(self.dtype)
        return (x * self.levels).round().clamp(0, CODE_MAX).to(CODE_DTYPE)

    def decode(self, stored: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """Stored inputs as the float inputs they were (exactly, where :func:`input_storage` chose codes)."""
        return stored.to(dtype) if self.levels is None else stored.to(dtype) / self.levels

    def sample_bytes(self, x: Tensor) -> int:
        """Bytes of one stored sample of ``x`` (samples on the first axis): its input at the storage
        dtype plus :data:`LABEL_BYTES`."""
        return x[0].numel() * self.dtype.itemsize + LABEL_BYTES


def exact(storage: InputStorage, x: Tensor) -> bool:
    """Whether storing ``x`` and reading it back gives ``x`` bit for bit."""
    return torch.equal(storage.decode(storage.encode(x), x.dtype), x)


def input_storage(inputs: list[Tensor], levels: int | None) -> InputStorage:
    """uint8 codes of ``k / levels`` when every tensor of ``inputs`` round-trips exactly, else the inputs'
    own dtype (priced as held)."""
    if levels is not None and not 0 < levels <= CODE_MAX:
        raise ValueError(f"input levels must be in 1..{CODE_MAX} to fit uint8 codes, got {levels}")
    codes = InputStorage(levels, CODE_DTYPE)
    if levels is not None and all(exact(codes, x) for x in inputs):
        return codes
    return InputStorage(None, inputs[0].dtype)


def scenario_storage(scenario) -> InputStorage:
    """The storage of every input a method can store from ``scenario``: its training draws (what the
    experiences carry, drift included) at the scenario's ``input_levels``."""
    return input_storage([x for x, _ in scenario.train_data], scenario.input_levels)
