"""The embedded offline scenario: cyclic Split-Digits on scikit-learn's digits (no data folder).

scikit-learn ships 1,797 8x8 grey digit images (10 classes). Per class, a ``pretrain_fraction`` of
the images (drawn with ``backbone_seed``, so every cell seed shares the backbone) is held out for the
backbone's self-supervised pre-training (labels unused). The split seed (the cell seed unless
``split_seed`` fixes it) then draws the test set, the class-to-task assignment, each task's validation
split, the task order and every occurrence's training draw (:mod:`nsr_bench.scenarios.recurrence`).
"""

from __future__ import annotations

import numpy as np
import torch

from nsr_bench.models.architectures import make_backbone
from nsr_bench.models.pretraining import obtain_backbone
from nsr_bench.scenarios.cyclic import Scenario, StreamSpec, Task, assemble, carve_validation, split_classes
from nsr_bench.scenarios.sources import pixel_levels


def _per_class_split(y: np.ndarray, fraction: float, rng: np.random.Generator,
                     within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(first, rest)`` indices: a ``fraction`` of every class (among ``within``) and the remainder."""
    within = np.arange(len(y)) if within is None else within
    first, rest = [], []
    for c in np.unique(y[within]):
        idx = rng.permutation(within[y[within] == c])
        n = round(fraction * len(idx))
        first.append(idx[:n])
        rest.append(idx[n:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(rest))


def digits_cyclic(tasks: int = 5, classes_per_task: int = 2, cycles: int = 3, shuffle: bool = False,
                  recurrence: str = "resample", samples_per_class: int | None = None,
                  drift_strength: float = 0.5, val_fraction: float = 0.2, pretrain_fraction: float = 0.2,
                  test_fraction: float = 0.3, pretrain_epochs: int = 30, split_seed: int | None = None,
                  backbone_seed: int = 0, *, seed: int = 0, device: str = "cpu") -> Scenario:
    """Cyclic Split-Digits: ``tasks`` x ``classes_per_task`` classes, repeated ``cycles`` times.

    ``samples_per_class``: training samples per class of each occurrence (default: the whole pool under
    ``recurrence=same``, half of it otherwise, so consecutive occurrences can be disjoint).
    """
    from sklearn.datasets import load_digits

    for name, f in (("pretrain_fraction", pretrain_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {f}")
    data = load_digits()
    x = torch.tensor(data.images / pixel_levels("digits"), dtype=torch.float32).unsqueeze(1)
    y = np.asarray(data.target)
    pre, rest = _per_class_split(y, pretrain_fraction, np.random.default_rng(backbone_seed))
    source = f"sklearn-digits held-out {pretrain_fraction:.0%} (backbone_seed={backbone_seed})"
    backbone, reference, provenance = obtain_backbone("small_cnn", x[pre], source, pretrain_epochs,
                                                      seed=backbone_seed, device=device)
    rng = np.random.default_rng(seed if split_seed is None else split_seed)
    test, train = _per_class_split(y, test_fraction, rng, within=rest)
    groups = split_classes(rng.permutation(10).tolist(), tasks, classes_per_task)
    y_t = torch.tensor(y, dtype=torch.long)
    task_list = []
    for j, classes in enumerate(groups):
        tr, te = train[np.isin(y[train], classes)], test[np.isin(y[test], classes)]
        pool = carve_validation(x[tr], y_t[tr], val_fraction, rng)
        task_list.append(Task(j, classes, pool[0], pool[1], x[te], y_t[te], pool[2], pool[3]))
    info = {"source": "sklearn.datasets.load_digits", "backbone": provenance, "n_pretrain": len(pre),
            "split_seed": seed if split_seed is None else split_seed, "classes": groups,
            "n_pool": int(sum(len(t.y_train) for t in task_list)),
            "n_test": int(sum(len(t.y_test) for t in task_list))}
    stream = StreamSpec(cycles, shuffle, recurrence, samples_per_class, drift_strength, val_fraction)
    return assemble("digits_cyclic", task_list, 10, stream, rng, info, backbone, reference,
                    pixel_levels("digits"))


def skeleton(params: dict) -> torch.nn.Module:
    """The untrained backbone of a :func:`digits_cyclic` cell (8x8 grey images), built without data."""
    return make_backbone("small_cnn", 1, 8)

