"""GEM whose episodic memory is keyed by task, not by experience.

Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017. Avalanche's
``GEMPlugin`` adds one memory (and one gradient constraint) per *experience*; on a cyclic stream a
recurring task gets another copy each cycle. Here a task's memory is replaced when it recurs, and
the constraints are the other tasks' memories.
"""

from __future__ import annotations

import torch
from avalanche.models.utils import avalanche_forward

from nsr_bench.plugins.gem import GEM


class TaskKeyedGEM(GEM):
    """GEM with one memory per distinct task label."""

    def before_training_iteration(self, strategy, **kwargs):
        current = int(strategy.experience.task_label)
        grads = []
        for task in (t for t in self.memory_x if t != current):
            strategy.optimizer.zero_grad()
            out = avalanche_forward(strategy.model, self.memory_x[task].to(strategy.device),
                                    self.memory_tid[task].to(strategy.device))
            strategy._criterion(out, self.memory_y[task].to(strategy.device)).backward()
            grads.append(torch.cat([p.grad.flatten() if p.grad is not None
                                    else torch.zeros(p.numel(), device=strategy.device)
                                    for p in strategy.model.parameters()]))
        self.G = torch.stack(grads) if grads else torch.empty(0, device=strategy.device)

    def after_backward(self, strategy, **kwargs):
        if len(self.G):
            super().after_backward(strategy, **kwargs)

    def after_training_exp(self, strategy, **kwargs):
        task = int(strategy.experience.task_label)
        for memory in (self.memory_x, self.memory_y, self.memory_tid):
            memory.pop(task, None)
        self.update_memory(strategy.experience.dataset, task, strategy.train_mb_size)
