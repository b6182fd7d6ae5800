"""A-GEM that reports its episodic memory: Chaudhry et al., "Efficient Lifelong Learning with A-GEM",
ICLR 2019 (Avalanche's ``AGEMPlugin``, unchanged in behaviour)."""

from __future__ import annotations

from avalanche.training.plugins import AGEMPlugin

from nsr_bench.plugins.reporting import PluginReport


class AGEM(AGEMPlugin):
    """Avalanche's A-GEM; ``report()`` counts the buffers' samples at ``sample_bytes`` each (the
    reference gradient is scratch, recomputed from them, and not counted). Avalanche splits
    ``sample_size`` evenly over the buffers; with more buffers than ``sample_size`` that share is 0 and
    its loader fails, so each buffer then gives one sample.

    Args:
        patterns_per_experience: memory per experience; sample_size: samples drawn per reference gradient.
        sample_bytes: bytes of one stored sample (:meth:`~nsr_bench.plugins.storage.InputStorage.sample_bytes`).
    """

    def __init__(self, patterns_per_experience: int, sample_size: int, sample_bytes: int = 0):
        super().__init__(patterns_per_experience, sample_size)
        self.sample_bytes = sample_bytes

    def update_memory(self, dataset, num_workers=0, **kwargs):
        super().update_memory(dataset, num_workers, **kwargs)
        if self.sample_size < len(self.buffers):
            from avalanche.benchmarks.utils.data_loader import GroupBalancedInfiniteDataLoader

            self.buffer_dataloader = GroupBalancedInfiniteDataLoader(self.buffers, batch_size=1)
            self.buffer_dliter = iter(self.buffer_dataloader)

    def report(self) -> PluginReport:
        return PluginReport(retained_bytes=sum(len(b) for b in self.buffers) * self.sample_bytes)
