"""Experience replay that reports its buffer: Chaudhry et al., "On Tiny Episodic Memories in Continual
Learning", 2019 (Avalanche's ``ReplayPlugin``, unchanged in behaviour)."""

from __future__ import annotations

from avalanche.training.plugins import ReplayPlugin

from nsr_bench.plugins.reporting import PluginReport


class Replay(ReplayPlugin):
    """Avalanche's replay; ``report()`` counts the buffer's samples at ``sample_bytes`` each.

    Args:
        mem_size: buffer size (samples).
        storage_policy: Avalanche's storage policy (experience-balanced if None).
        sample_bytes: bytes of one stored sample (:meth:`~nsr_bench.plugins.storage.InputStorage.sample_bytes`).
    """

    def __init__(self, mem_size: int, storage_policy=None, sample_bytes: int = 0):
        super().__init__(mem_size, storage_policy=storage_policy)
        self.sample_bytes = sample_bytes

    def report(self) -> PluginReport:
        return PluginReport(retained_bytes=len(self.storage_policy.buffer) * self.sample_bytes)
