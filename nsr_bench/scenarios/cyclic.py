"""Cyclic streams: M distinct tasks recurring for T cycles, as an Avalanche benchmark.

Every training experience carries its distinct task id (as the Avalanche task label) and its
recurrence index (``experience.recurrence``: 0 on first occurrence, c in cycle c). The test stream
holds one experience per distinct task, in task-id order. Every experience also carries its data as
``experience.tensors = (x, y)`` for :class:`nsr_bench.training.template.TensorTemplate`'s fast loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from torch import Tensor, nn


@dataclass
class Task:
    """One distinct task: its classes and its train/test tensors."""

    task_id: int
    classes: list[int]
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


@dataclass
class Scenario:
    """A stream over distinct tasks, plus what the runner needs to build the model."""

    name: str
    tasks: list[Task]
    order: list[int]
    recurrence: list[int]
    num_classes: int
    info: dict = field(default_factory=dict)
    backbone: nn.Module | None = None
    reference: Tensor | None = None

    def task_classes(self) -> dict[int, list[int]]:
        """The classes of every distinct task id (what a task-masked head needs)."""
        return {t.task_id: t.classes for t in self.tasks}

    def test_sets(self) -> dict[int, tuple[Tensor, Tensor, list[int]]]:
        return {t.task_id: (t.x_test, t.y_test, t.classes) for t in self.tasks}

    def benchmark(self):
        """The Avalanche benchmark: ``train_stream`` in stream order, ``test_stream`` per task."""
        from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
        from avalanche.benchmarks.scenarios.task_aware import with_task_labels
        from avalanche.benchmarks.utils.classification_dataset import (
            _make_taskaware_tensor_classification_dataset as tensor_dataset,
        )

        train = [tensor_dataset(self.tasks[t].x_train, self.tasks[t].y_train, task_labels=t)
                 for t in self.order]
        test = [tensor_dataset(t.x_test, t.y_test, task_labels=t.task_id) for t in self.tasks]
        bm = with_task_labels(benchmark_from_datasets(train=train, test=test))
        for exp, rec, t in zip(bm.train_stream, self.recurrence, self.order, strict=True):
            exp.recurrence = rec
            exp.tensors = (self.tasks[t].x_train, self.tasks[t].y_train)
        for exp, task in zip(bm.test_stream, self.tasks, strict=True):
            exp.tensors = (task.x_test, task.y_test)
        return bm


def cyclic_order(num_tasks: int, cycles: int, shuffle: bool = False,
                 rng: np.random.Generator | None = None) -> tuple[list[int], list[int]]:
    """Task order over ``cycles`` cycles of ``num_tasks`` tasks, and each experience's recurrence index.

    With ``shuffle`` each cycle is a fresh permutation (drawn from ``rng``); otherwise 0..M-1 each time.
    """
    if num_tasks < 1 or cycles < 1:
        raise ValueError(f"a cyclic stream needs >= 1 task and >= 1 cycle, got {num_tasks} x {cycles}")
    rng = rng or np.random.default_rng(0)
    order, recurrence = [], []
    for c in range(cycles):
        cycle = rng.permutation(num_tasks).tolist() if shuffle else list(range(num_tasks))
        order += cycle
        recurrence += [c] * num_tasks
    return order, recurrence


def split_classes(classes: list[int], num_tasks: int, per_task: int) -> list[list[int]]:
    """Disjoint groups of ``per_task`` classes, one per task, in the given class order."""
    if num_tasks * per_task > len(classes):
        raise ValueError(f"cannot make {num_tasks} tasks of {per_task} classes from {len(classes)} "
                         f"classes; lower tasks or classes_per_task")
    return [classes[i * per_task:(i + 1) * per_task] for i in range(num_tasks)]
