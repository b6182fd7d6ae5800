"""The task-masked classification head: one linear layer over all classes that knows each task's classes.

In the task-incremental protocol a sample of task t is classified among t's classes only. The head
computes raw logits over every class (so distillation and other plugins see them); the masks below are
the one implementation of "restrict to a task's classes" that training, evaluation and the metrics use.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

MASK_VALUE = -1e9


class TaskMaskedHead(nn.Linear):
    """``nn.Linear`` over all classes plus the task -> classes map of the stream.

    Args:
        in_features: feature dimension of the backbone.
        num_classes: classes over all tasks.
        task_classes: the classes of every task id (the scenario's tasks).
    """

    def __init__(self, in_features: int, num_classes: int, task_classes: dict[int, list[int]]):
        super().__init__(in_features, num_classes)
        self.task_classes = {int(t): sorted(int(c) for c in cs) for t, cs in task_classes.items()}
        mask = torch.zeros(max(self.task_classes, default=-1) + 1, num_classes, dtype=torch.bool)
        for task, classes in self.task_classes.items():
            mask[task, classes] = True
        self.register_buffer("task_mask", mask, persistent=False)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """``nn.Linear``'s initialisation (uniform in +-1/sqrt(fan_in)), drawn from ``generator``
        (torch's global stream if None, as ``nn.Linear`` does when it is built)."""
        if generator is None:
            super().reset_parameters()
            return
        bound = 1.0 / math.sqrt(self.in_features)
        with torch.no_grad():  # drawn on the CPU, so a seed gives the same head on any device
            self.weight.copy_(torch.empty(self.weight.shape).uniform_(-bound, bound, generator=generator))
            self.bias.copy_(torch.empty(self.bias.shape).uniform_(-bound, bound, generator=generator))

    def mask_classes(self, logits: Tensor, classes: list[int]) -> Tensor:
        """Keep the logits of ``classes``; push the others to ``MASK_VALUE``."""
        keep = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
        keep[classes] = True
        return logits.masked_fill(~keep, MASK_VALUE)

    def mask_tasks(self, logits: Tensor, tasks: Tensor) -> Tensor:
        """Per sample: each row keeps the classes of its own task id (``tasks``, one per row)."""
        return logits.masked_fill(~self.task_mask[tasks.to(self.task_mask.device)], MASK_VALUE)

    def mask_task(self, logits: Tensor, task: int) -> Tensor:
        """Every row keeps the classes of ``task``."""
        return logits.masked_fill(~self.task_mask[task], MASK_VALUE)
