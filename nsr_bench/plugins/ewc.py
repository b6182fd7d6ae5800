"""EWC that reports its importances and anchors: Kirkpatrick et al., "Overcoming catastrophic forgetting
in neural networks", PNAS 2017 (Avalanche's ``EWCPlugin``, unchanged in behaviour)."""

from __future__ import annotations

from avalanche.training.plugins import EWCPlugin

from nsr_bench.plugins.reporting import PluginReport, tensor_bytes


class EWC(EWCPlugin):
    """Avalanche's EWC; ``report()`` counts what its penalty reads: the importance and anchor of every
    trained parameter, for every entry that still has anchors (all in ``separate`` mode, the last in
    ``online`` mode). Avalanche also copies the frozen backbone and keeps online mode's stale
    importances; neither is ever read, so neither is counted."""

    def __init__(self, ewc_lambda: float, mode: str = "separate", decay_factor: float | None = None):
        super().__init__(ewc_lambda, mode, decay_factor)
        self.trained: set[str] = set()

    def report(self) -> PluginReport:
        held = [(self.importances[key][name], anchors[name]) for key, anchors in self.saved_params.items()
                for name in anchors if name in self.trained]
        return PluginReport(retained_bytes=tensor_bytes(held))

    def before_training_exp(self, strategy, **kwargs):
        self.trained = {n for n, p in strategy.model.named_parameters() if p.requires_grad}
