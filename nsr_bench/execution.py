"""Execute one cell: scenario -> backbone -> strategy -> train/eval -> metrics, with nothing stored.

What this module imports (followed transitively), with the cell's strategy and scenario modules, is the
code of a cell's identity (:func:`nsr_bench.identity.cell_code`): it computes the numbers, while
:mod:`nsr_bench.runner` stores them.
"""

from __future__ import annotations

import copy
import platform
import random
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import numpy as np

from nsr_bench import __version__
from nsr_bench.config import CellSpec
from nsr_bench.identity import torch_threads
from nsr_bench.registry import resolve
from nsr_bench.resolution import tuning_provenance
from nsr_bench.strategies.contract import BuildContext


@contextmanager
def flushed_subnormals() -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU while a cell runs (restored afterwards: the flag is
    processor state shared with NumPy and everything else in the thread). Retraining a recalled
    adapter again and again (a long cyclic stream; the benchmark's repeated experience) drives some
    values subnormal, and CPU kernels then take the slow path: the same step measured 2x slower."""
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def versions() -> dict[str, str]:
    import avalanche
    import torch

    return {"nsr_bench": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "avalanche": avalanche.__version__, "numpy": np.__version__, "platform": platform.platform()}


class CellPruned(Exception):
    """Raised by an ``on_experience`` callback to stop a cell early (a pruned sweep trial)."""


def execute_cell(cell: CellSpec, progress=None, on_experience=None, extra_plugins=(), evaluation=()):
    """Train and evaluate ``cell``; returns (summary, documents, matrix rows, curve rows, Bank bytes or None).

    ``progress`` (a :class:`~nsr_bench.progress.Progress`, optional) shows the stage. ``extra_plugins``
    (Avalanche plugins, e.g. an audit) and ``evaluation`` (Avalanche metrics and loggers for the training
    logs, :meth:`nsr_bench.logs.TrainingLogs.evaluation`) join the loop without changing the cell. Torch
    runs with the cell's thread count (part of its identity), restored afterwards."""
    with flushed_subnormals(), torch_threads(cell.identity.threads):
        return _execute(cell, progress, on_experience, extra_plugins, evaluation)


def prepare(cell: CellSpec, scenario, plugins_for) -> tuple[Any, BuildContext, list, dict]:
    """The model of ``cell`` on its built ``scenario``, its build context, the plugins ``plugins_for(context)``
    returns, and the frozen-prefix feature cache applied to the scenario (its manifest record)."""
    from nsr_bench.models.adapter_net import AdapterNet
    from nsr_bench.plugins.reporting import adapted_modules
    from nsr_bench.scenarios.feature_cache import apply_feature_cache

    seed_everything(cell.seed)  # the model's stream must not depend on what building the scenario drew
    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes, scenario.task_classes())
    context = BuildContext(model, scenario, cell.seed, cell.device)
    plugins = plugins_for(context)
    adapted = {t.removeprefix("features.") for t in adapted_modules(plugins)}
    return model, context, plugins, apply_feature_cache(scenario, model.features, adapted, cell.device)


def training_loop(cell: CellSpec, model, context: BuildContext, plugins: list, evaluation=()):
    """Avalanche's loop for ``cell`` (TensorTemplate: Adam, the cell's train spec) with ``plugins``;
    ``evaluation`` is (metrics, loggers) for Avalanche's evaluation plugin (they only read the loop's
    outputs), none by default: our recorder measures what a cell stores."""
    import torch
    from avalanche.training.plugins import EvaluationPlugin

    from nsr_bench.training.template import TensorTemplate

    metrics, loggers = evaluation or ((), ())
    with warnings.catch_warnings():  # our recorder replaces Avalanche's loggers unless logs are asked for
        warnings.filterwarnings("ignore", message="No loggers specified")
        evaluator = EvaluationPlugin(*metrics, loggers=list(loggers))
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"avalanche\.")
    return TensorTemplate(
        model=model, optimizer=torch.optim.Adam(model.parameters(), lr=cell.train.lr),
        criterion=torch.nn.CrossEntropyLoss(), train_mb_size=cell.train.batch_size,
        train_epochs=cell.train.epochs, eval_mb_size=cell.train.eval_batch_size, device=cell.device,
        plugins=plugins, evaluator=evaluator, data_order=context.streams.torch("data_order"))


def _execute(cell: CellSpec, progress, on_experience, extra_plugins, evaluation):
    from nsr_bench.guards import FiniteLossGuard
    from nsr_bench.metrics.recorder import AccuracyRecorder
    from nsr_bench.plugins.reporting import EVALUATION_MODES, collect, modes_differ
    from nsr_bench.scenarios.targets import dedicated_targets

    def stage(text: str) -> None:
        if progress is not None:
            progress.stage(f"{cell.strategy} seed {cell.seed}: {text}")

    started = time.perf_counter()
    seed_everything(cell.seed)
    stage("data and backbone (pre-training on a cold cache)")
    scenario = resolve(cell.builder)(**cell.scenario_params, seed=cell.seed, device=cell.device)
    stage("targets (dedicated adapters on a cold cache)")
    targets = dedicated_targets(scenario, cell.train, cell.seed, cell.device)  # shared by every strategy
    impl = resolve(cell.impl)
    stage("frozen-prefix features")
    model, context, plugins, feature_cache = prepare(
        cell, scenario, lambda ctx: impl.build(impl.Params(**cell.strategy_params), ctx))
    recorder = AccuracyRecorder(scenario.test_sets(), cell.train.eval_every,
                                batch_size=cell.train.eval_batch_size, curve_sets=scenario.val_sets())
    strategy = training_loop(cell, model, context, [*plugins, FiniteLossGuard(), recorder, *extra_plugins],
                             evaluation)
    bm = scenario.benchmark()

    shared = not modes_differ(plugins)  # then one pass gives every mode's row

    def evaluate() -> None:
        if shared:
            strategy.eval(bm.test_stream, num_workers=0, mode="oracle", record=EVALUATION_MODES)
            return
        for mode in EVALUATION_MODES:
            strategy.eval(bm.test_stream, num_workers=0, mode=mode)

    evaluate()
    for i, exp in enumerate(bm.train_stream, 1):
        strategy.train(exp, num_workers=0)
        evaluate()
        strategy.eval(bm.valid_stream, num_workers=0, mode="oracle", split="val")  # what tuning may read
        stage(f"trained and evaluated exp {i}/{len(scenario.order)}")
        if on_experience is not None:  # sweeps prune on validation accuracy, never on the test set
            seen = sorted(set(scenario.order[:i]))
            on_experience(i, float(np.mean([recorder.rows["val/oracle"][-1][j] for j in seen])))
    wall = time.perf_counter() - started
    report = collect(plugins)
    summary, documents, rows = summarize(cell, scenario, recorder, report, targets, wall)
    documents["manifest"] = {
        "cell": cell.model_dump(mode="json"), "hash": cell.hash, "seed": cell.seed,
        "versions": versions(), "device": cell.device, "identity": cell.identity.model_dump(),
        "scenario_info": scenario.info,
        "stream": {"tasks": scenario.order, "recurrence": scenario.recurrence},
        "targets": {"definition": "validation accuracy of a dedicated adapter per task", "values": targets},
        "timings": {"wall_s": wall, "train_s": recorder.train_seconds}, "feature_cache": feature_cache,
        "tuning": tuning_provenance(cell),
        "decisions": [], "rule_history": None, **report.manifest,
        "recovery": documents.pop("curves")["recovery"],
    }
    curve_rows = [{"experience": c.experience, "task": c.task, "recurrence": c.recurrence, "step": st, "acc": a}
                  for c in recorder.curves for st, a in zip(c.steps, c.acc, strict=True)]
    return summary, documents, rows, curve_rows, report.artifacts.get("bank")


def summarize(cell: CellSpec, scenario, recorder, report, targets: dict[int, float],
              wall: float) -> tuple[dict, dict, list[dict]]:
    """The summary (metrics defined in docs/design.md), the JSON documents and the long accuracy-matrix
    rows; ``report`` is the plugins' merged :class:`~nsr_bench.plugins.reporting.PluginReport` and
    ``targets`` the per-task targets every strategy of this scenario and seed shares."""
    from nsr_bench.metrics import core
    from nsr_bench.plugins.reporting import EVALUATION_MODES

    tasks = scenario.order
    R = recorder.matrix("oracle")
    recovery = core.recovery(recorder.curves, targets, cell.train.tol)
    regret = core.regret_per_cycle(recorder.curves, targets)
    retention = [r["retention"] for r in recovery if r["retention"] is not None]
    summary = {
        "strategy": cell.strategy, "scenario": cell.scenario, "seed": cell.seed, "hash": cell.hash,
        "acc": core.average_accuracy(R),
        "acc_agnostic": core.average_accuracy(recorder.matrix("agnostic")),
        "acc_val": core.average_accuracy(recorder.matrix("val/oracle")),
        "bwt": core.backward_transfer(R, tasks), "forgetting": core.forgetting(R, tasks),
        "bwt_agnostic": core.backward_transfer(recorder.matrix("agnostic"), tasks),
        "fwt": core.forward_transfer(R, tasks),
        **core.recovery_summary(recovery),
        "retention": float(np.mean(retention)) if retention else None,
        "regret": float(sum(regret)), "regret_per_cycle": regret,
        "late_regret_gap": core.late_regret_gap(recorder.curves, targets),
        "bank_mb_per_entry": 0.0, "bank_mb_per_task": 0.0, "bank_mb_total": 0.0,
        "teacher_mb": 0.0, "task_id_acc": None, "routing": None,
        **report.summary,
        "memory_mb": report.retained_bytes / 1e6,
        "wall_s": wall,
        "train_samples_per_s": recorder.train_samples / max(recorder.train_seconds, 1e-9),
    }
    summary["warnings"] = core.undefined(summary)
    rows = [{"mode": mode, "experience": i, "task": j, "acc": float(a)}
            for mode, matrix in recorder.rows.items() if mode in EVALUATION_MODES  # the test set's rows
            for i, row in enumerate(matrix) for j, a in enumerate(row)]
    documents = {"summary": summary, "curves": {"curves": [asdict(c) for c in recorder.curves],
                                                "recovery": recovery}}
    return summary, documents, rows
