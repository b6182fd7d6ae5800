"""CPUWorkAudit: find tensor work that stays on the CPU while a cell runs on an accelerator.

A ``TorchDispatchMode`` sees every aten op. Inside the training and evaluation hooks of the loop
(iterations, and the per-experience work of the plugins), an op whose tensors are all on the CPU and
of which one has at least ``min_numel`` elements is counted by op name. On CUDA the count must be
zero; on a CPU run it counts the whole model's work, which is how its own test checks it.
"""

from __future__ import annotations

from collections import Counter

import torch
from avalanche.core import SupervisedPlugin
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class _CPUOps(TorchDispatchMode):
    def __init__(self, counts: Counter, min_numel: int):
        super().__init__()
        self.counts, self.min_numel = counts, min_numel

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [t for t in tree_leaves((args, kwargs or {})) if isinstance(t, torch.Tensor)]
        if tensors and all(t.device.type == "cpu" for t in tensors) and \
                max(t.numel() for t in tensors) >= self.min_numel:
            self.counts[str(func)] += 1
        return out


class CPUWorkAudit(SupervisedPlugin):
    """Count sizeable CPU tensor ops inside the loop's hooks (``counts``: op name -> calls)."""

    def __init__(self, min_numel: int = 4096):
        super().__init__()
        self.counts: Counter = Counter()
        self.min_numel = min_numel
        self._mode: _CPUOps | None = None

    def _enter(self, strategy, **kwargs):
        if self._mode is None:
            self._mode = _CPUOps(self.counts, self.min_numel)
            self._mode.__enter__()

    def _exit(self, strategy, **kwargs):
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None

    before_training_exp = before_training_iteration = before_eval_iteration = _enter
    after_training_iteration = after_eval_iteration = after_training_exp = _exit
