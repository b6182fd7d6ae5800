"""Cyclic streams: M distinct tasks recurring for T cycles, as an Avalanche benchmark.

Every training experience carries its distinct task id (as the Avalanche task label) and its
recurrence index (``experience.recurrence``: 0 on first occurrence, c in cycle c); what it trains on
is its own draw of the task's training pool (:mod:`nsr_bench.scenarios.recurrence`). Every task also
holds a validation split carved from its training data (recovery curves and their targets are measured
there, never on the test set). The test stream holds one experience per distinct task, in task-id
order. Every experience carries its data as ``experience.tensors = (x, y)`` for
:class:`nsr_bench.training.template.TensorTemplate`'s fast loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn


@dataclass
class Task:
    """One distinct task: its classes, its training pool, its validation split and its test set."""

    task_id: int
    classes: list[int]
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    x_val: Tensor
    y_val: Tensor


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
    train_data: list[tuple[Tensor, Tensor]] = field(default_factory=list)
    input_levels: int | None = None  # the inputs are k / input_levels for integers k (None: not known to be)

    def __post_init__(self) -> None:
        if not self.train_data:  # every occurrence trains on the task's whole pool
            self.train_data = [(self.tasks[t].x_train, self.tasks[t].y_train) for t in self.order]

    def task_classes(self) -> dict[int, list[int]]:
        """The classes of every distinct task id (what a task-masked head needs)."""
        return {t.task_id: t.classes for t in self.tasks}

    def test_sets(self) -> dict[int, tuple[Tensor, Tensor, list[int]]]:
        return {t.task_id: (t.x_test, t.y_test, t.classes) for t in self.tasks}

    def val_sets(self) -> dict[int, tuple[Tensor, Tensor, list[int]]]:
        return {t.task_id: (t.x_val, t.y_val, t.classes) for t in self.tasks}

    def benchmark(self):
        """The Avalanche benchmark: ``train_stream`` in stream order; ``test_stream`` and ``valid_stream`` (the
        validation splits carved from the training data) with one experience per task."""
        from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
        from avalanche.benchmarks.scenarios.task_aware import with_task_labels
        from avalanche.benchmarks.utils.classification_dataset import (
            _make_taskaware_tensor_classification_dataset as tensor_dataset,
        )

        train = [tensor_dataset(x, y, task_labels=t)
                 for (x, y), t in zip(self.train_data, self.order, strict=True)]
        test = [tensor_dataset(t.x_test, t.y_test, task_labels=t.task_id) for t in self.tasks]
        valid = [tensor_dataset(t.x_val, t.y_val, task_labels=t.task_id) for t in self.tasks]
        bm = with_task_labels(benchmark_from_datasets(train=train, test=test, valid=valid))
        for exp, rec, data in zip(bm.train_stream, self.recurrence, self.train_data, strict=True):
            exp.recurrence = rec
            exp.tensors = data
        for exp, task in zip(bm.test_stream, self.tasks, strict=True):
            exp.tensors = (task.x_test, task.y_test)
        for exp, task in zip(bm.valid_stream, self.tasks, strict=True):
            exp.tensors = (task.x_val, task.y_val)
        return bm


def cyclic_order(num_tasks: int, cycles: int, shuffle: bool = False,
                 rng: np.random.Generator | None = None) -> tuple[list[int], list[int]]:
    """Task order over ``cycles`` cycles of ``num_tasks`` tasks, and each experience's recurrence index.

    Without ``shuffle`` one permutation (drawn from ``rng``; 0..M-1 if ``rng`` is None) repeats every cycle;
    with ``shuffle`` each cycle is a fresh permutation.
    """
    if num_tasks < 1 or cycles < 1:
        raise ValueError(f"a cyclic stream needs >= 1 task and >= 1 cycle, got {num_tasks} x {cycles}")
    fixed = rng.permutation(num_tasks).tolist() if rng is not None and not shuffle else list(range(num_tasks))
    rng = rng or np.random.default_rng(0)
    order, recurrence = [], []
    for c in range(cycles):
        order += rng.permutation(num_tasks).tolist() if shuffle else fixed
        recurrence += [c] * num_tasks
    return order, recurrence


def split_classes(classes: list[int], num_tasks: int, per_task: int) -> list[list[int]]:
    """Disjoint groups of ``per_task`` classes, one per task, in the given class order."""
    if num_tasks * per_task > len(classes):
        raise ValueError(f"cannot make {num_tasks} tasks of {per_task} classes from {len(classes)} "
                         f"classes; lower tasks or classes_per_task")
    return [sorted(classes[i * per_task:(i + 1) * per_task]) for i in range(num_tasks)]


def carve_validation(x: Tensor, y: Tensor, fraction: float, rng: np.random.Generator,
                     per_class: int | None = None,
                     groups: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_pool, y_pool, x_val, y_val)``: a stratified ``fraction`` of every class (at least one sample)
    carved out of the training data for validation, of which the first ``per_class`` (all if None) of the
    same seeded permutation are kept: the evaluation subset. The pool and every later draw of ``rng`` do
    not depend on ``per_class``.

    With ``groups`` (per sample, its group of near-duplicates: a GTSRB track), whole groups go to one side,
    so no validation image has a frame of the same sign in the pool; see :func:`validation_groups`.
    Without, every sample is its own group (the split is then the plain per-sample one)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {fraction}")
    if per_class is not None and per_class < 1:
        raise ValueError(f"val_per_class must be >= 1 (or null for the whole split), got {per_class}")
    pool, val = [], []
    labels = y.numpy()
    group_ids = np.arange(len(labels)) if groups is None else groups.numpy()
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held = validation_groups(group_ids[idx], max(1, round(fraction * len(idx))), int(c))
        val.append(idx[held][:per_class])
        pool.append(idx[~held])
    p, v = (torch.from_numpy(np.sort(np.concatenate(a))) for a in (pool, val))
    return x[p], y[p], x[v], y[v]


def validation_groups(groups: np.ndarray, n: int, label: int) -> np.ndarray:
    """Which of one class's samples (``groups``: their group ids, in a seeded random order) are validation:
    the groups in order of first appearance, as many whole groups as bring the count closest to ``n``
    (ties: fewer), at least one and never all. Singleton groups give exactly the first ``n`` samples."""
    _, first, sizes = np.unique(groups, return_index=True, return_counts=True)
    order = np.argsort(first)
    k = int(np.argmin(np.abs(np.cumsum(sizes[order]) - n))) + 1
    if k >= len(order):
        unit = "training samples" if len(order) == len(groups) else "groups of near-duplicates (tracks)"
        raise ValueError(f"class {label} has {len(order)} {unit}: too few to carve a validation split; "
                         "raise samples_per_class")
    return np.isin(groups, groups[first[order[:k]]])


@dataclass
class StreamSpec:
    """How a scenario turns its tasks into a stream (the parameters every cyclic scenario shares)."""

    cycles: int = 3
    shuffle: bool = False
    recurrence: str = "resample"
    per_class: int | None = None
    drift_strength: float = 0.5
    val_fraction: float = 0.2
    val_per_class: int | None = None


def assemble(name: str, tasks: list[Task], num_classes: int, stream: StreamSpec, rng: np.random.Generator,
             info: dict, backbone: nn.Module, reference: Tensor, input_levels: int | None = None) -> Scenario:
    """The Scenario: task order (from ``rng``), and every occurrence's training draw under the recurrence mode;
    ``input_levels``: the integer levels of the source's pixels (see :class:`Scenario`)."""
    from nsr_bench.scenarios.recurrence import occurrences

    order, recurrence = cyclic_order(len(tasks), stream.cycles, stream.shuffle, rng)
    draws = {t.task_id: iter(occurrences(t.x_train, t.y_train, order.count(t.task_id), stream.recurrence,
                                         stream.per_class, stream.drift_strength, rng)) for t in tasks}
    train_data = [next(draws[t]) for t in order]
    info = {**info, "recurrence": stream.recurrence, "per_class_per_occurrence": stream.per_class,
            "drift_strength": stream.drift_strength if stream.recurrence == "drift" else None,
            "val_fraction": stream.val_fraction, "val_per_class": stream.val_per_class, "order": order,
            "n_train_per_experience": [len(y) for _, y in train_data],
            "n_val": int(sum(len(t.y_val) for t in tasks))}
    return Scenario(name, tasks, order, recurrence, num_classes, info, backbone, reference, train_data,
                    input_levels)
