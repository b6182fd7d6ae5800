"""GEM that reports its episodic memory: Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual
Learning", NeurIPS 2017 (Avalanche's ``GEMPlugin``, unchanged in behaviour)."""

from __future__ import annotations

from avalanche.training.plugins import GEMPlugin

from nsr_bench.plugins.reporting import PluginReport


class GEM(GEMPlugin):
    """Avalanche's GEM; ``report()`` counts the memories' samples at ``sample_bytes`` each (the
    per-iteration gradient matrix ``G`` is scratch, recomputed from them, and not counted).

    Args:
        patterns_per_experience: memory per experience; memory_strength: GEM's margin.
        sample_bytes: bytes of one stored sample (:meth:`~nsr_bench.plugins.storage.InputStorage.sample_bytes`).
    """

    def __init__(self, patterns_per_experience: int, memory_strength: float, sample_bytes: int = 0):
        super().__init__(patterns_per_experience, memory_strength)
        self.sample_bytes = sample_bytes

    def report(self) -> PluginReport:
        return PluginReport(retained_bytes=sum(len(x) for x in self.memory_x.values()) * self.sample_bytes)
