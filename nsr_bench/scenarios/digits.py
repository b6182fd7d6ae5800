"""The embedded offline scenario: cyclic Split-Digits on scikit-learn's digits (no data folder).

scikit-learn ships 1,797 8x8 grey digit images (10 classes). Per class, a ``pretrain_fraction`` of
the images is held out for the backbone's self-supervised pre-training (labels unused); the rest is
split into task train/test sets. Tasks are disjoint class groups; the stream repeats them for
``cycles`` cycles.
"""

from __future__ import annotations

import numpy as np
import torch

from nsr_bench.models.pretraining import obtain_backbone
from nsr_bench.scenarios.cyclic import Scenario, Task, cyclic_order, split_classes


def _stratified_split(y: np.ndarray, fractions: tuple[float, float], rng: np.random.Generator,
                      samples_per_class: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre, train, test = [], [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_pre = round(fractions[0] * len(idx))
        rest = idx[n_pre:]
        n_test = round(fractions[1] * len(rest))
        pre.append(idx[:n_pre])
        test.append(rest[:n_test])
        train.append(rest[n_test:][:samples_per_class])
    return tuple(np.concatenate(p) for p in (pre, train, test))


def digits_cyclic(tasks: int = 5, classes_per_task: int = 2, cycles: int = 3, shuffle: bool = False,
                  pretrain_fraction: float = 0.2, test_fraction: float = 0.3,
                  samples_per_class: int | None = None, pretrain_epochs: int = 30,
                  split_seed: int = 0, *, seed: int = 0, device: str = "cpu") -> Scenario:
    """Cyclic Split-Digits: ``tasks`` x ``classes_per_task`` classes, repeated ``cycles`` times."""
    from sklearn.datasets import load_digits

    for name, f in (("pretrain_fraction", pretrain_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {f}")
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = np.asarray(data.target)
    groups = split_classes(list(range(10)), tasks, classes_per_task)
    pre, train, test = _stratified_split(y, (pretrain_fraction, test_fraction),
                                         np.random.default_rng(split_seed), samples_per_class)
    source = f"sklearn-digits held-out {pretrain_fraction:.0%} (split_seed={split_seed})"
    backbone, reference, provenance = obtain_backbone("small_cnn", x[pre], source, pretrain_epochs,
                                                      seed=split_seed, device=device)
    y_t = torch.tensor(y, dtype=torch.long)
    task_list = []
    for j, classes in enumerate(groups):
        tr = train[np.isin(y[train], classes)]
        te = test[np.isin(y[test], classes)]
        task_list.append(Task(j, classes, x[tr], y_t[tr], x[te], y_t[te]))
    order, recurrence = cyclic_order(tasks, cycles, shuffle, np.random.default_rng(seed))
    info = {"source": "sklearn.datasets.load_digits", "backbone": provenance,
            "n_pretrain": len(pre), "n_train": int(sum(len(t.y_train) for t in task_list)),
            "n_test": int(sum(len(t.y_test) for t in task_list))}
    return Scenario("digits_cyclic", task_list, order, recurrence, num_classes=10, info=info,
                    backbone=backbone, reference=reference)
