"""Nearest-class-mean classifier on frozen features (a SimpleCIL-style reference).

Zhou et al., "Revisiting Class-Incremental Learning with Pre-Trained Models: Generalizability and
Adaptivity are All You Need" (SimpleCIL), 2023; Mensink et al., NCM, TPAMI 2013. No gradient step
is taken: at each experience the class means of the frozen features are written into the linear
head, since argmin_c ||f - mu_c||^2 = argmax_c (2 mu_c . f - ||mu_c||^2).
"""

from __future__ import annotations

import torch
from avalanche.core import SupervisedPlugin

from nsr_bench.nsr.embed import frozen_features
from nsr_bench.plugins.reporting import PluginReport

COUNT_BYTES = 8


class PrototypePlugin(SupervisedPlugin):
    """Write nearest-class-mean prototypes into ``model.head``; skip training.

    Its memory is the per-class sample counts (int64) that the running means need; the prototypes
    themselves are the live head's rows, which every strategy has.
    """

    def __init__(self, batch_size: int = 512):
        super().__init__()
        self.batch_size = batch_size
        self.counts: dict[int, int] = {}

    def report(self) -> PluginReport:
        return PluginReport(retained_bytes=COUNT_BYTES * len(self.counts))

    @torch.no_grad()
    def before_training_exp(self, strategy, **kwargs):
        loader = torch.utils.data.DataLoader(strategy.experience.dataset.eval(), batch_size=self.batch_size)
        head = strategy.model.head
        for x, y, *_ in loader:
            feats = frozen_features(strategy.model, x.to(strategy.device))
            for c in y.unique().tolist():
                f = feats[y.to(feats.device) == c]
                n_old = self.counts.get(c, 0)
                mean = f.mean(0) if n_old == 0 else (head.weight[c] / 2 * n_old + f.sum(0)) / (n_old + len(f))
                self.counts[c] = n_old + len(f)
                head.weight[c] = 2 * mean
                head.bias[c] = -(mean**2).sum()

    def before_training_epoch(self, strategy, **kwargs):
        strategy.stop_training()
