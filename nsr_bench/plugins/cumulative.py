"""Cumulative (joint-so-far) training: the upper bound of sequential training.

Each experience trains on its own data plus the stored data of earlier ones. ``keyed_by="task"``
stores one dataset per distinct task (a recurrence replaces it), ``"experience"`` one per
experience (Avalanche's ``Cumulative`` behaviour, which duplicates recurring tasks).
"""

from __future__ import annotations

from avalanche.core import SupervisedPlugin

from nsr_bench.plugins.reporting import PluginReport


class CumulativePlugin(SupervisedPlugin):
    """Concatenate stored datasets to the current experience's training data.

    Args:
        keyed_by: ``task`` or ``experience`` (see the module docstring).
        sample_bytes: bytes of one stored sample (:meth:`~nsr_bench.plugins.storage.InputStorage.sample_bytes`).
    """

    def __init__(self, keyed_by: str = "task", sample_bytes: int = 0):
        super().__init__()
        if keyed_by not in ("task", "experience"):
            raise ValueError(f"keyed_by must be 'task' or 'experience', got {keyed_by!r}")
        self.keyed_by, self.sample_bytes = keyed_by, sample_bytes
        self.stored: dict = {}

    def report(self) -> PluginReport:
        """The stored datasets' samples (every one kept, for the current experience's too)."""
        return PluginReport(retained_bytes=sum(len(d) for d in self.stored.values()) * self.sample_bytes)

    def after_train_dataset_adaptation(self, strategy, **kwargs):
        exp = strategy.experience
        key = int(exp.task_label) if self.keyed_by == "task" else strategy.clock.train_exp_counter
        data = strategy.adapted_dataset
        for k, old in self.stored.items():
            if k != key:
                data = data.concat(old)
        strategy.adapted_dataset = data
        self.stored[key] = exp.dataset
