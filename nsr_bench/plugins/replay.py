"""Experience replay that reports its buffer: Chaudhry et al., "On Tiny Episodic Memories in Continual
Learning", 2019 (Avalanche's ``ReplayPlugin``, unchanged in behaviour)."""

from __future__ import annotations

from avalanche.training.plugins import ReplayPlugin

from nsr_bench.plugins.reporting import PluginReport


class Replay(ReplayPlugin):
    """Avalanche's replay; ``report()`` counts the buffer's samples at ``sample_bytes`` each, and records
    the buffer's size (and the byte budget that set it, if any) in the summary.

    Args:
        mem_size: buffer size (samples).
        storage_policy: Avalanche's storage policy (experience-balanced if None).
        sample_bytes: bytes of one stored sample (:meth:`~nsr_bench.plugins.storage.InputStorage.sample_bytes`).
        budget_mb: the byte budget that sized the buffer (None: sized by samples).
    """

    def __init__(self, mem_size: int, storage_policy=None, sample_bytes: int = 0, budget_mb: float | None = None):
        super().__init__(mem_size, storage_policy=storage_policy)
        self.sample_bytes, self.budget_mb = sample_bytes, budget_mb

    def report(self) -> PluginReport:
        buffer = {"mem_size": self.mem_size, "sample_bytes": self.sample_bytes, "budget_mb": self.budget_mb}
        return PluginReport(manifest={"replay_buffer": buffer}, summary={"budget_mb": self.budget_mb},
                            retained_bytes=len(self.storage_policy.buffer) * self.sample_bytes)
