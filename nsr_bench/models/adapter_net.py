"""AdapterNet: the model every strategy trains, a frozen backbone plus a task-masked head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from nsr_bench.models.masked_head import TaskMaskedHead


class AdapterNet(nn.Module):
    """A frozen feature extractor plus a linear head over all classes (the model adapters are attached to).

    While ``frozen_backbone`` is set, the backbone's BatchNorm layers stay in eval mode even when
    the model trains, so their running statistics are part of the frozen weights. ``task_classes`` (the
    stream's task -> classes map) lets the head mask logits per task (:class:`TaskMaskedHead`).
    """

    def __init__(self, features: nn.Module, num_classes: int, task_classes: dict[int, list[int]]):
        super().__init__()
        self.features = features.requires_grad_(False)
        self.head = TaskMaskedHead(features.feat_dim, num_classes, task_classes)
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
        if x.dim() == 4:  # channels-last: oneDNN's fast convolution layout (a no-op for cached features)
            x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.features(x))
