"""Task embeddings from frozen-backbone features (NSR step 3, the recall key).

The embedding of a set of inputs is the mean of their frozen features (adapters off), centred on a
reference mean (the backbone's mean feature on its own pre-training data, when known) and
L2-normalised. The same function embeds a task's training sample and a single test batch, so the
Bank can route test batches without task ids.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from nsr_bench.nsr.lora import adapters_disabled
from nsr_bench.training.inference import batched, evaluating


def frozen_features(model: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """Features of ``model.features`` with every adapter switched off, in eval mode."""
    with evaluating(model), adapters_disabled(model):
        return batched(model.features, x, batch_size)


def sample_embeddings(model: nn.Module, x: Tensor, reference: Tensor | None = None) -> Tensor:
    """One normalised, reference-centred frozen feature per input (the per-sample routing key)."""
    feats = frozen_features(model, x)
    if reference is not None:
        feats = feats - reference.to(feats.device)
    return F.normalize(feats, dim=1).cpu()


def task_embedding(model: nn.Module, x: Tensor, reference: Tensor | None = None) -> Tensor:
    """The normalised, reference-centred mean frozen feature of the inputs ``x``."""
    mean = frozen_features(model, x).mean(0)
    if reference is not None:
        mean = mean - reference.to(mean.device)
    return F.normalize(mean, dim=0).cpu()
