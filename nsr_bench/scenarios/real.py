"""Scenarios on real datasets: class-split cyclic streams and heterogeneous multi-domain streams.

Both read their data through :mod:`nsr_bench.scenarios.sources` (a local data root, never a
download) and obtain a frozen backbone honestly: by rotation-prediction pre-training on training
images held out from every task (``pretrain_fraction``, labels unused), or from a user's weights
file, or with its published weights (``backbone=efficientnet_lite0``: ImageNet weights; ``input_size`` is
the resolution it upsamples the images to, ``lora_blocks`` how many of its last blocks take adapters). The
images loaded, the test set and the pre-training hold-out are drawn with ``backbone_seed`` (so
every cell seed shares the costly backbone); the split seed (the cell seed unless ``split_seed`` fixes it)
draws the class-to-task assignment, each task's validation split, the task order and every occurrence's
training draw. Size controls (``samples_per_class`` per occurrence, ``test_per_class``, ``image_size``)
keep CPU runs small and are recorded in the manifest with everything else in ``Scenario.info``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nsr_bench.models.architectures import architecture, make_backbone
from nsr_bench.models.pretraining import obtain_backbone
from nsr_bench.scenarios.cyclic import Scenario, StreamSpec, Task, assemble, carve_validation, split_classes
from nsr_bench.scenarios.sources import DataError, Split, data_root, load_source, native_channels, pixel_levels

FIVE_DATASETS = ("cifar10", "mnist", "svhn", "notmnist", "fashion_mnist")


def _load_pair(source: str, stream: StreamSpec, test_per_class: int | None, image_size: int,
               channels: int | None, pretrain_fraction: float, seed: int) -> tuple[Split, Split]:
    """Train and test splits; the train split is enlarged so that after the pre-training hold-out and the
    validation split every occurrence can draw ``stream.per_class`` images per class (two disjoint draws
    unless ``recurrence=same``)."""
    if not 0.0 <= pretrain_fraction < 1.0:
        raise ValueError(f"pretrain_fraction must be in [0, 1), got {pretrain_fraction}")
    per_class = None
    if stream.per_class is not None:
        draws = 1 if stream.recurrence == "same" else 2
        per_class = int(np.ceil(stream.per_class * draws / (1 - stream.val_fraction) / (1 - pretrain_fraction)))
    root = data_root()
    return (load_source(source, root, True, per_class, image_size, channels, seed),
            load_source(source, root, False, test_per_class, image_size, channels, seed))


def _hold_out(split: Split, fraction: float, rng: np.random.Generator) -> tuple[Split, torch.Tensor]:
    """Split off ``fraction`` of every class's images for label-free backbone pre-training."""
    held, kept = [], []
    y = split.y.numpy()
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = round(fraction * len(idx))
        held.append(idx[:n])
        kept.append(idx[n:])
    held_idx, kept_idx = np.sort(np.concatenate(held)), np.sort(np.concatenate(kept))
    return split.take(kept_idx), split.x[held_idx]


def _finish(name: str, tasks: list[Task], num_classes: int, x_pretrain: torch.Tensor, pretrain_source: str,
            stream: StreamSpec, rng: np.random.Generator, backbone: dict, info: dict,
            sources: list[str]) -> Scenario:
    """The scenario over ``tasks`` with its backbone; its inputs have the sources' common pixel levels, if any."""
    if len(x_pretrain) == 0 and not backbone["weights"]:
        raise ValueError("no images left for backbone pre-training: raise pretrain_fraction or give weights")
    net, reference, provenance = obtain_backbone(backbone["arch"], x_pretrain, pretrain_source,
                                                 backbone["epochs"], backbone["seed"], backbone["width"],
                                                 backbone["weights"], backbone["device"], **backbone["options"])
    info = {**info, "backbone": provenance, "data_root": str(data_root() or ""), "n_pretrain": len(x_pretrain),
            "n_pool": int(sum(len(t.y_train) for t in tasks)), "n_test": int(sum(len(t.y_test) for t in tasks))}
    levels = {pixel_levels(source) for source in sources}
    return assemble(name, tasks, num_classes, stream, rng, info, net, reference,
                    levels.pop() if len(levels) == 1 else None)


def _task(j: int, classes: list[int], train: Split, test: Split, stream: StreamSpec,
          rng: np.random.Generator) -> Task:
    """Task ``j`` from its training images (validation carved out, by group where ``train`` has groups)
    and its test images."""
    x_pool, y_pool, x_val, y_val = carve_validation(train.x, train.y, stream.val_fraction, rng,
                                                    stream.val_per_class, train.groups)
    return Task(j, classes, x_pool, y_pool, test.x, test.y, x_val, y_val)


def split_cyclic(source: str = "cifar10", tasks: int = 5, classes_per_task: int = 2, cycles: int = 3,
                 shuffle: bool = False, recurrence: str = "resample", samples_per_class: int | None = 200,
                 drift_strength: float = 0.5, val_fraction: float = 0.2, val_per_class: int | None = None,
                 test_per_class: int | None = 100,
                 image_size: int = 32, channels: int | None = None, backbone: str = "small_cnn",
                 width: int | None = None, input_size: int | None = None, lora_blocks: int | None = None,
                 pretrain_fraction: float = 0.2, pretrain_epochs: int = 15,
                 weights: str | None = None, split_seed: int | None = None, backbone_seed: int = 0, *,
                 seed: int = 0, device: str = "cpu") -> Scenario:
    """Cyclic Split-``source``: disjoint groups of ``classes_per_task`` classes, ``cycles`` cycles."""
    stream = StreamSpec(cycles, shuffle, recurrence, samples_per_class, drift_strength, val_fraction,
                        val_per_class)
    train, test = _load_pair(source, stream, test_per_class, image_size, channels, pretrain_fraction,
                             backbone_seed)
    train, x_pre = _hold_out(train, pretrain_fraction, np.random.default_rng(backbone_seed))
    rng = np.random.default_rng(seed if split_seed is None else split_seed)
    groups = split_classes(rng.permutation(train.num_classes).tolist(), tasks, classes_per_task)
    task_list = []
    for j, classes in enumerate(groups):
        tr, te = np.isin(train.y, classes), np.isin(test.y, classes)
        if not tr.any() or not te.any():
            raise DataError(f"{source}: no images of classes {classes} in the train or test split")
        task_list.append(_task(j, classes, train.take(tr), test.take(te), stream, rng))
    info = {"source": source, "samples_per_class": samples_per_class, "test_per_class": test_per_class,
            "image_size": image_size, "channels": int(train.x.shape[1]), "classes": groups,
            "split_seed": seed if split_seed is None else split_seed}
    bb = {"arch": backbone, "width": width, "epochs": pretrain_epochs, "weights": weights, "seed": backbone_seed,
          "device": device, "options": {"input_size": input_size, "lora_blocks": lora_blocks}}
    return _finish(f"split_{source}_cyclic", task_list, train.num_classes, x_pre,
                   f"{source} held-out {pretrain_fraction:.0%} train images (labels unused)", stream, rng,
                   bb, info, [source])


def heterogeneous(domains: list[dict] | None = None, cycles: int = 1, shuffle: bool = False,
                  recurrence: str = "resample", samples_per_class: int | None = 100, drift_strength: float = 0.5,
                  val_fraction: float = 0.2, val_per_class: int | None = None, test_per_class: int | None = 50,
                  image_size: int = 32, channels: int = 3, backbone: str = "small_cnn", width: int | None = None,
                  input_size: int | None = None, lora_blocks: int | None = None, pretrain_fraction: float = 0.2,
                  pretrain_epochs: int = 15, weights: str | None = None,
                  split_seed: int | None = None, backbone_seed: int = 0, *, seed: int = 0,
                  device: str = "cpu") -> Scenario:
    """One task per domain (dataset), each with its own classes, inputs brought to one shape.

    ``domains`` is a list of ``{"source": name, "classes": n or [class ids]}`` (default: at most 10
    classes); class ids of domain k are offset by the classes of domains 0..k-1, so heads never
    collide. Default domains: the original 5-Datasets.
    """
    domains = domains or [{"source": s} for s in FIVE_DATASETS]
    stream = StreamSpec(cycles, shuffle, recurrence, samples_per_class, drift_strength, val_fraction,
                        val_per_class)
    fixed = np.random.default_rng(backbone_seed)
    rng = np.random.default_rng(seed if split_seed is None else split_seed)
    task_list, held, offset = [], [], 0
    for j, domain in enumerate(domains):
        if not isinstance(domain, dict) or "source" not in domain or set(domain) - {"source", "classes"}:
            raise ValueError(f"domain {j} must be {{source: NAME, classes: N or [ids]}}, got {domain!r}")
        train, test = _load_pair(domain["source"], stream, test_per_class, image_size, channels,
                                 pretrain_fraction, backbone_seed)
        wanted = domain.get("classes", min(train.num_classes, 10))
        classes = list(range(wanted)) if isinstance(wanted, int) else [int(c) for c in wanted]
        if not classes or max(classes) >= train.num_classes or min(classes) < 0:
            raise ValueError(f"domain {domain['source']!r} has {train.num_classes} classes; "
                             f"cannot use classes={wanted!r}")
        keep = np.isin(train.y, classes)
        train, x_pre = _hold_out(train.take(keep), pretrain_fraction, fixed)
        held.append(x_pre)
        remap = torch.full((train.num_classes,), -1, dtype=torch.long)
        remap[classes] = torch.arange(offset, offset + len(classes))
        te = np.isin(test.y, classes)
        task_test = test.take(te)
        task_list.append(_task(j, list(range(offset, offset + len(classes))), replace(train, y=remap[train.y]),
                               replace(task_test, y=remap[task_test.y]), stream, rng))
        offset += len(classes)
    names = "+".join(d["source"] for d in domains)
    info = {"domains": domains, "samples_per_class": samples_per_class, "test_per_class": test_per_class,
            "image_size": image_size, "channels": channels,
            "split_seed": seed if split_seed is None else split_seed}
    bb = {"arch": backbone, "width": width, "epochs": pretrain_epochs, "weights": weights, "seed": backbone_seed,
          "device": device, "options": {"input_size": input_size, "lora_blocks": lora_blocks}}
    return _finish("heterogeneous", task_list, offset, torch.cat(held),
                   f"{names} held-out {pretrain_fraction:.0%} train images (labels unused)", stream, rng, bb, info,
                   [d["source"] for d in domains])


def skeleton(params: dict) -> torch.nn.Module:
    """The untrained backbone that a cell of :func:`split_cyclic` or :func:`heterogeneous` with (all its)
    ``params`` adapts, built without data: what the runner checks strategy parameters against."""
    domains = params.get("domains") or [{"source": s} for s in FIVE_DATASETS]
    source = params.get("source") or (domains[0].get("source") if isinstance(domains[0], dict) else None)
    channels = params.get("channels") or native_channels(str(source))
    return make_backbone(params["backbone"], channels, params["image_size"], params["width"],
                         input_size=params.get("input_size"), lora_blocks=params.get("lora_blocks"))



def weights_file(params: dict) -> Path | None:
    """The published weights file a cell with ``params`` loads (its backbone's; None: pre-trained here), whose
    digest is part of the cell's identity (:mod:`nsr_bench.identity`)."""
    return architecture(params.get("backbone") or "small_cnn").published_file()
