"""The common target of every recurrence: what a dedicated adapter reaches on the task's validation split.

A strategy's retention and recovery are measured against a target that storage cannot set: for each
distinct task, a fresh LoRA adapter (rank 4, the backbone's default targets) and head are trained on the
task's first occurrence with the scenario's training protocol, alone, and scored on the task's validation
split (carved from its training data; never the test set). The targets depend on the scenario and the
seed only, so every strategy of a (scenario, seed) shares them; they are memoised (:mod:`nsr_bench.memo`)
by everything that determines them, the code of this module and what it imports included.
"""

from __future__ import annotations

import copy
import json

import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.memo import Recipe, memoised, recipe, tensor_digest
from nsr_bench.training.streams import RandomStreams

TARGET_RANK, TARGET_ALPHA = 4, 8.0


def _recipe(scenario, train, seed: int, device: str) -> Recipe:
    protocol = {"epochs": train.epochs, "batch_size": train.batch_size, "lr": train.lr}
    data = [t for x, y in [*first_occurrences(scenario).values(), *((t.x_val, t.y_val) for t in scenario.tasks)]
            for t in (x, y)]
    spec = {"train": protocol, "seed": seed, "rank": TARGET_RANK, "alpha": TARGET_ALPHA,
            "backbone_sha256": tensor_digest(scenario.backbone.state_dict()), "data_sha256": tensor_digest(*data)}
    return recipe("targets", "targets", spec, (__name__,), device)


def first_occurrences(scenario) -> dict[int, tuple[Tensor, Tensor]]:
    """Each task's training data at its first occurrence."""
    first: dict[int, tuple[Tensor, Tensor]] = {}
    for t, data in zip(scenario.order, scenario.train_data, strict=True):
        first.setdefault(t, data)
    return first


def dedicated_accuracy(scenario, task: int, x: Tensor, y: Tensor, train, generator: torch.Generator,
                       device: str) -> float:
    """Validation accuracy of a fresh adapter trained on ``(x, y)`` alone (task-masked, as every strategy)."""
    from nsr_bench.models.adapter_net import AdapterNet
    from nsr_bench.nsr.adapters import ActiveAdapter

    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes, scenario.task_classes())
    ActiveAdapter.attach(model, model.lora_targets, TARGET_RANK, TARGET_ALPHA, generator).reset(generator)
    model.to(device)
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=train.lr)
    model.train()
    for _ in range(train.epochs):
        order = torch.randperm(len(y), generator=generator).to(device)
        for start in range(0, len(y), train.batch_size):
            idx = order[start:start + train.batch_size]
            loss = F.cross_entropy(model.head.mask_task(model(x[idx]), task), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    task_data = scenario.tasks[task]
    model.eval()
    with torch.no_grad():
        logits = model.head.mask_task(model(task_data.x_val.to(device)), task)
    return float((logits.argmax(1) == task_data.y_val.to(device)).float().mean())


def dedicated_targets(scenario, train, seed: int, device: str = "cpu") -> dict[int, float]:
    """Per task id, the validation accuracy of its dedicated adapter (computed once, then read from the
    memoised copy when it verifies)."""
    def compute() -> dict[int, float]:
        generator = RandomStreams(seed).torch("targets")
        with torch.random.fork_rng(devices=[]):
            return {t: dedicated_accuracy(scenario, t, x, y, train, generator, device)
                    for t, (x, y) in sorted(first_occurrences(scenario).items())}

    targets, _ = memoised(_recipe(scenario, train, seed, device), compute, _write, _read, ".json")
    return targets


def _write(targets: dict[int, float], path) -> None:
    path.write_text(json.dumps({str(k): v for k, v in sorted(targets.items())}, sort_keys=True))


def _read(path) -> dict[int, float]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, float) for v in data.values()):
        raise ValueError("not a mapping of task ids to accuracies")
    return {int(k): v for k, v in data.items()}
