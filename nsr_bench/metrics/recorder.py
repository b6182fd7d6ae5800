"""AccuracyRecorder: our own Avalanche plugin recording the accuracy matrix and recovery curves.

Rows of the accuracy matrix come from ``strategy.eval(test_stream, mode=...)`` (one row per call, per
evaluation mode, one column per distinct task): in ``oracle`` mode predictions are restricted to the
sample's task (the model's task-masked head); in ``agnostic`` mode they are the argmax over whatever
the strategy outputs. ``strategy.eval(..., mode="oracle", record=("oracle", "agnostic"))`` records
both rows from one pass, which is right when no plugin changes the outputs by mode (the runner asks
:func:`~nsr_bench.plugins.reporting.modes_differ`). Recovery curves are measured inside training on the
current task's validation split (``curve_sets``: carved from its training data, so that curves and the
targets they are compared with never touch the test set), at interval 0 (after allocation, before any
update) and every ``eval_every`` optimizer steps, task-masked. Every strategy gets the same points, the grid
of :func:`curve_grid` (the steps the experience's own training loader yields): a strategy that stops early
or takes no step at all (NCM) has its remaining points filled with the final model's accuracy, and one
that takes more steps (cumulative training on a larger loader) is not measured past the grid, so that
recovery and regret are scored on the same points for every strategy. Training time and samples are
counted with the curve evaluations excluded.
"""

from __future__ import annotations

import math
import time

import numpy as np
from avalanche.core import SupervisedPlugin
from torch import Tensor

from nsr_bench.metrics.core import Curve
from nsr_bench.training.inference import batched, evaluating


def curve_grid(samples: int, batch_size: int, epochs: int, eval_every: int) -> range:
    """The optimizer steps at which a curve is measured: 0 and every ``eval_every`` steps up to the
    ``epochs * ceil(samples / batch_size)`` steps of an experience of ``samples`` training samples (the
    tensor loader of :class:`~nsr_bench.training.template.TensorTemplate` and Avalanche's own loader both
    keep the last, partial batch)."""
    return range(0, epochs * math.ceil(samples / batch_size) + 1, eval_every)


class AccuracyRecorder(SupervisedPlugin):
    """Record R[i, j] per inference mode and the recovery curve of every training experience.

    Args:
        test_sets: per distinct task id, its test inputs, labels and classes.
        eval_every: optimizer steps between two points of a recovery curve.
        batch_size: evaluation batch size for the curves.
        curve_sets: per task, the data the curves are measured on (default: ``test_sets``).
    """

    def __init__(self, test_sets: dict[int, tuple[Tensor, Tensor, list[int]]], eval_every: int,
                 batch_size: int = 512,
                 curve_sets: dict[int, tuple[Tensor, Tensor, list[int]]] | None = None):
        super().__init__()
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 optimizer step, got {eval_every}")
        self.test_sets, self.eval_every, self.batch_size = test_sets, eval_every, batch_size
        self.curve_sets = curve_sets if curve_sets is not None else dict(test_sets)
        self.rows: dict[str, list[list[float]]] = {}
        self.curves: list[Curve] = []
        self.train_seconds = 0.0
        self.train_samples = 0
        self._counts: dict[str, dict[int, list[int]]] = {}
        self._step = 0
        self._grid = range(1)
        self._started = 0.0

    # ---------------------------------------------------------------- accuracy matrix
    def before_eval(self, strategy, **kwargs):
        self._counts = {}

    def after_eval_iteration(self, strategy, mode: str = "oracle", record: tuple[str, ...] | None = None,
                             **kwargs):
        task = int(strategy.experience.task_label)
        for recorded in record or (mode,):
            logits = strategy.mb_output
            if recorded == "oracle":
                logits = strategy.model.head.mask_task(logits, task)
            hits = int((logits.argmax(1) == strategy.mb_y).sum())
            counts = self._counts.setdefault(recorded, {}).setdefault(task, [0, 0])
            counts[0] += hits
            counts[1] += len(strategy.mb_y)

    def after_eval(self, strategy, mode: str = "oracle", split: str = "test",
                   record: tuple[str, ...] | None = None, **kwargs):
        """One row of R per recorded mode (``split="val"``: of the validation matrix, kept apart under
        ``"val/<mode>"``)."""
        for recorded in record or (mode,):
            row = [float("nan")] * len(self.test_sets)
            for task, (hits, total) in self._counts.get(recorded, {}).items():
                row[task] = hits / total
            self.rows.setdefault(recorded if split == "test" else f"{split}/{recorded}", []).append(row)

    def matrix(self, mode: str = "oracle") -> np.ndarray:
        return np.asarray(self.rows[mode], dtype=float)

    # ---------------------------------------------------------------- recovery curves
    def before_training_exp(self, strategy, **kwargs):
        exp = strategy.experience
        self._step = 0
        self._grid = curve_grid(len(exp.dataset), strategy.train_mb_size, strategy.train_epochs, self.eval_every)
        self.curves.append(Curve(len(self.curves), int(exp.task_label), int(getattr(exp, "recurrence", 0)),
                                 [], []))
        self._point(strategy)
        self._started = time.perf_counter()

    def after_training_iteration(self, strategy, **kwargs):
        self._step += 1
        self.train_samples += len(strategy.mb_y)
        if self._step % self.eval_every == 0 and self._step <= self._grid[-1]:
            self.train_seconds += time.perf_counter() - self._started
            self._point(strategy)
            self._started = time.perf_counter()

    def after_training_exp(self, strategy, **kwargs):
        self.train_seconds += time.perf_counter() - self._started
        self._fill(strategy)

    def _fill(self, strategy) -> None:
        """Give the grid points past the last step taken the final model's accuracy. Exact: the parameters
        change only by an optimizer step, and after a stop Avalanche runs no forward pass either (the one
        thing besides a step that moves a model, through batch-norm statistics). The last measured point is
        that accuracy when no step was taken since (NCM: interval 0); after a stop between grid points the
        final model is evaluated once (the strategy's own end-of-experience hooks, which run first, keep
        the live model in this package)."""
        curve = self.curves[-1]
        missing = [s for s in self._grid if s > curve.steps[-1]]
        if not missing:
            return
        acc = curve.acc[-1] if self._step == curve.steps[-1] else self._accuracy(strategy, curve.task)
        curve.steps.extend(missing)
        curve.acc.extend([acc] * len(missing))

    def _point(self, strategy) -> None:
        curve = self.curves[-1]
        curve.steps.append(self._step)
        curve.acc.append(self._accuracy(strategy, curve.task))

    def _accuracy(self, strategy, task: int) -> float:
        """The live model's task-masked accuracy on ``task``'s curve set."""
        x, y, classes = self.curve_sets[task]
        # kept on the device: copied at the first point, a no-op ``to`` afterwards
        self.curve_sets[task] = x, y, classes = x.to(strategy.device), y.to(strategy.device), classes
        with evaluating(strategy.model) as model:
            logits = model.head.mask_task(batched(model, x, self.batch_size), task)
        return int((logits.argmax(1) == y).sum()) / len(x)
