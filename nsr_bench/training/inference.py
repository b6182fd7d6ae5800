"""No-grad inference helpers shared by the plugins, the recorder, the caches and pre-training."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode and without autograd for the block; its previous mode is restored
    through its own ``train()`` (so a frozen backbone's BatchNorm stays frozen)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def batched(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 512) -> Tensor:
    """``fn`` over ``x`` in batches of ``batch_size``, outputs concatenated."""
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
