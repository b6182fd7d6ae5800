"""The bare-PyTorch reference of a cell: the same training steps and evaluations on the same tensors, in a
plain loop (no Avalanche, no plugins, no recorder), written the way a careful hand-written script would.

It builds the cell's scenario with the cell's own builder and frozen-prefix cache (so it reads the same
tensors), the same model (frozen backbone, LoRA on the same targets, task-masked head), and per experience
runs: the recovery-curve points on the task's validation split (at step 0 and every ``eval_every``
steps), ``epochs`` passes of minibatch Adam steps on the experience's data (task-masked cross-entropy),
and after it the evaluations of every task's test set (oracle and agnostic) and validation split. With
the Bank (``nsr``) it also embeds the experience (frozen features of ``embed_samples`` samples), keeps
one adapter per task (a copy: the reference does not compress), distils from the model before the
experience (teacher outputs computed once per experience), scores the stored adapter on the embedding
samples, evaluates each task with its own adapter (oracle) and routes every test sample to the nearest
task key (agnostic; the frozen keys of the test sets are computed once). Numbers are not compared, only
time: it is the floor our loop is measured against.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.nsr.adapters import ActiveAdapter
from nsr_bench.nsr.distill import kd_from_log_probs, teacher_log_probs
from nsr_bench.nsr.embed import frozen_features, sample_embeddings
from nsr_bench.registry import resolve
from nsr_bench.scenarios.feature_cache import apply_feature_cache
from nsr_bench.training.inference import batched, evaluating


def _accuracies(model, x: Tensor, y: Tensor, tasks: tuple[int | None, ...], batch: int) -> list[float]:
    """Accuracies of ``model`` on ``(x, y)`` from one forward pass, per entry of ``tasks``: task-masked to
    that task, or argmax over all classes for None."""
    with evaluating(model):
        logits = batched(model, x, batch)
    masked = [logits if task is None else model.head.mask_task(logits, task) for task in tasks]
    return [float((m.argmax(1) == y).float().mean()) for m in masked]


def _accuracy(model, x: Tensor, y: Tensor, task: int | None, batch: int) -> float:
    return _accuracies(model, x, y, (task,), batch)[0]


def bare_cell(cell) -> None:
    """Run the reference of ``cell``: its scenario, train spec, seed and strategy parameters (LoRA ``rank`` and
    ``alpha``; ``bank``: NSR's per-task adapters, embeddings and routing; ``distill_lambda`` > 0: distillation
    as NSR's, at its ``temperature``)."""
    settings = cell.strategy_params
    bank, distill_lambda, temperature = settings["bank"], settings["distill_lambda"], settings["temperature"]
    embed_samples = settings["embed_samples"]
    torch.manual_seed(cell.seed)
    sc = resolve(cell.builder)(**cell.scenario_params, seed=cell.seed, device=cell.device)
    train, device = cell.train, cell.device
    model = AdapterNet(copy.deepcopy(sc.backbone), sc.num_classes, sc.task_classes())
    adapter = ActiveAdapter.attach(model, model.lora_targets, settings["rank"], settings["alpha"])
    apply_feature_cache(sc, model.features, {t.removeprefix("features.") for t in model.lora_targets}, device)
    model.to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=train.lr)
    tasks = {t.task_id: t for t in sc.tasks}
    stored: dict[int, dict[str, Tensor]] = {}
    keys: dict[int, Tensor] = {}
    test_keys = {j: sample_embeddings(model, t.x_test, sc.reference) for j, t in tasks.items()} if bank else {}
    seen: set[int] = set()
    batch = train.eval_batch_size

    def evaluate(split: str) -> None:
        live = adapter.capture() if bank and stored else None
        for j, t in tasks.items():
            x, y = (t.x_test, t.y_test) if split == "test" else (t.x_val, t.y_val)
            if live is not None and j in stored:
                adapter.restore(stored[j])
            # without the Bank, agnostic is the same model's argmax over all classes: the same forward pass
            _accuracies(model, x, y, (j, None) if split == "test" and live is None else (j,), batch)
        if split == "test" and live is not None:  # agnostic: each test sample to its nearest task key
            names = sorted(keys)
            key_matrix = torch.stack([keys[k] for k in names])
            for j, t in tasks.items():
                owners = (test_keys[j] @ key_matrix.T).argmax(1)
                for o in owners.unique().tolist():
                    adapter.restore(stored[names[o]])
                    rows = owners == o
                    _accuracy(model, t.x_test[rows], t.y_test[rows], None, batch)
        if live is not None:
            adapter.restore(live)

    evaluate("test")
    for (x, y), task in zip(sc.train_data, sc.order, strict=True):
        x, y = x.to(device), y.to(device)
        val = tasks[task]
        if bank:
            probe = torch.randperm(len(y))[:embed_samples]
            keys[task] = F.normalize(frozen_features(model, x[probe]).mean(0) - sc.reference, dim=0)
            if task in stored:
                adapter.restore(stored[task])
        log_probs = None
        prior = torch.tensor(sorted(c for j in seen if j != task for c in tasks[j].classes), dtype=torch.long)
        if distill_lambda > 0 and len(prior):
            with evaluating(model):
                log_probs = teacher_log_probs(batched(model, x, batch), prior, temperature)
        optimizer.state.clear()
        _accuracy(model, val.x_val, val.y_val, task, batch)
        step = 0
        model.train()
        for _ in range(train.epochs):
            order = torch.randperm(len(y))
            for start in range(0, len(y), train.batch_size):
                idx = order[start:start + train.batch_size]
                logits = model(x[idx])
                loss = F.cross_entropy(model.head.mask_task(logits, task), y[idx])
                if log_probs is not None:
                    loss = loss + distill_lambda * kd_from_log_probs(logits, log_probs[idx], prior, temperature)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                if step % train.eval_every == 0:
                    _accuracy(model, val.x_val, val.y_val, task, batch)
                    model.train()
        seen.add(task)
        if bank:
            stored[task] = adapter.capture()
            _accuracy(model, x[probe], y[probe], task, batch)
        evaluate("test")
        evaluate("val")
