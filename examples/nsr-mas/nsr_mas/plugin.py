"""Avalanche's MAS plugin, with the one method nsr-bench reads from a plugin: ``report()``."""

from __future__ import annotations

from avalanche.training.plugins import MASPlugin

from nsr_bench.plugins.reporting import PluginReport, tensor_bytes


class ReportingMAS(MASPlugin):
    """Avalanche's MAS, unchanged in behaviour. ``report()`` counts what its penalty reads: the importance and
    the anchor of every trained parameter. Without it the cell's ``memory_mb`` would say 0 MB."""

    def __init__(self, lambda_reg: float, alpha: float):
        super().__init__(lambda_reg, alpha)
        self.trained: set[str] = set()

    def before_training_exp(self, strategy, **kwargs):
        self.trained |= {n for n, p in strategy.model.named_parameters() if p.requires_grad}

    def report(self) -> PluginReport:
        held = [(self.importance[n], self.params[n]) for n in self.trained
                if self.importance and n in self.importance]
        return PluginReport(retained_bytes=tensor_bytes(held))
