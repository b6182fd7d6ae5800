"""LoRAAdapters: one LoRA adapter (and the head) trained across the whole stream, nothing else.

Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022. The plain adapter
mechanism the Avalanche baselines train on: the adapter starts fresh at the first experience and is
then fine-tuned by every later one. :class:`~nsr_bench.plugins.adapter_allocation.AdapterAllocation`
extends it with an allocation rule and the Bank.
"""

from __future__ import annotations

import torch
from avalanche.core import SupervisedPlugin

from nsr_bench.nsr.adapters import ActiveAdapter
from nsr_bench.plugins.reporting import PluginReport


class LoRAAdapters(SupervisedPlugin):
    """Attach LoRA adapters to ``targets`` before the first experience; clear the optimizer state at each.

    Args:
        targets: names of the model's Linear/Conv2d modules that get adapters (may be empty).
        rank, alpha: LoRA rank and scale numerator (update = alpha / rank * B A).
        generator: draws fresh adapter initialisations.
    """

    def __init__(self, targets: list[str], rank: int = 4, alpha: float = 8.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.targets, self.rank, self.alpha = targets, rank, alpha
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.adapter: ActiveAdapter | None = None
        self.experience = 0

    def adapted_modules(self) -> list[str]:
        return list(self.targets)

    def report(self) -> PluginReport:
        return PluginReport(manifest={"adapters": {"targets": self.targets, "rank": self.rank,
                                                   "alpha": self.alpha}})

    def before_train_dataset_adaptation(self, strategy, **kwargs):
        if self.adapter is None:  # before Avalanche builds the optimizer, so it holds the adapters
            self.adapter = ActiveAdapter.attach(strategy.model, self.targets, self.rank, self.alpha,
                                                self.generator)

    def before_training_exp(self, strategy, **kwargs):
        if self.experience == 0:
            self.adapter.reset(self.generator)
        strategy.optimizer.state.clear()

    def after_training_exp(self, strategy, **kwargs):
        self.experience += 1
