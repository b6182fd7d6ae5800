"""Synaptic Intelligence with parameter snapshots that are copies, not views.

Zenke et al., "Continual Learning Through Synaptic Intelligence", ICML 2017. Avalanche 0.6's
``SynapticIntelligencePlugin`` snapshots weights with ``param.detach().cpu().flatten()``; on a CPU
model that is a *view* of the live parameter, so the anchor equals the current weights and the path
integral is always zero: SI silently becomes Naive on CPU (found by nsr-bench's SI test). This
subclass re-stores both snapshots as copies after Avalanche takes them; on GPU nothing changes.
"""

from __future__ import annotations

from avalanche.training.plugins import SynapticIntelligencePlugin

from nsr_bench.plugins.reporting import PluginReport, tensor_bytes


class SynapticIntelligence(SynapticIntelligencePlugin):
    """Avalanche's SI with copied anchor (``ewc_data[0]``) and step-start (``old_theta``) weights;
    ``report()`` counts every tensor of its state (anchors, importances, trajectories, snapshots)."""

    def report(self) -> PluginReport:
        return PluginReport(retained_bytes=tensor_bytes(self.ewc_data, self.syn_data))

    def before_training_exp(self, strategy, **kwargs):
        super().before_training_exp(strategy, **kwargs)
        for anchor in self.ewc_data[0].values():
            anchor.data = anchor.data.clone()

    def before_training_iteration(self, strategy, **kwargs):
        super().before_training_iteration(strategy, **kwargs)
        for old in self.syn_data["old_theta"].values():
            old.data = old.data.clone()
