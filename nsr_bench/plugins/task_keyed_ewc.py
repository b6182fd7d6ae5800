"""EWC whose state is keyed by task, not by experience.

Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017. Avalanche's
``EWCPlugin`` stores importances and anchor parameters per *experience*, so on a cyclic stream its
state (and penalty cost) grows with every recurrence. Here the entry of a task is replaced when the
task recurs: state stays at one entry per distinct task, and the penalty protects the other tasks.
"""

from __future__ import annotations

import torch
from avalanche.training.utils import copy_params_dict

from nsr_bench.plugins.ewc import EWC


class TaskKeyedEWC(EWC):
    """Separate-mode EWC with one (importance, anchor) pair per distinct task label."""

    def __init__(self, ewc_lambda: float):
        super().__init__(ewc_lambda, mode="separate")

    def before_backward(self, strategy, **kwargs):
        current = int(strategy.experience.task_label)
        penalty = torch.zeros((), device=strategy.device)
        for task, anchors in self.saved_params.items():
            if task == current:
                continue
            for name, param in strategy.model.named_parameters():
                if name in anchors:
                    imp = self.importances[task][name]
                    penalty = penalty + (imp.data * (param - anchors[name].data).pow(2)).sum()
        strategy.loss = strategy.loss + self.ewc_lambda * penalty

    def after_training_exp(self, strategy, **kwargs):
        task = int(strategy.experience.task_label)
        self.importances[task] = self.compute_importances(
            strategy.model, strategy._criterion, strategy.optimizer, strategy.experience.dataset,
            strategy.device, strategy.train_mb_size, num_workers=kwargs.get("num_workers", 0))
        self.saved_params[task] = copy_params_dict(strategy.model)
