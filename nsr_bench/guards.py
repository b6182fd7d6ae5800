"""FiniteLossGuard: stop a cell whose loss is NaN or infinite, with a message saying where.

A non-finite loss would otherwise train on silently (Adam turns every parameter into NaN) and
report chance accuracy as a result. The guard raises; the runner records the failure in the
store's ``runs`` table and a matrix goes on with its other cells.
"""

from __future__ import annotations

import math

from avalanche.core import SupervisedPlugin


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


class FiniteLossGuard(SupervisedPlugin):
    """Raise :class:`NonFiniteLoss` before a backward pass on a non-finite loss."""

    def before_backward(self, strategy, **kwargs):
        loss = float(strategy.loss.detach())
        if not math.isfinite(loss):
            raise NonFiniteLoss(
                f"loss is {loss} at training experience {strategy.clock.train_exp_counter}, iteration "
                f"{strategy.clock.train_exp_iterations}; lower the learning rate (train.lr) or check the data")
