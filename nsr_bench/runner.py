"""Run one cell: scenario -> backbone -> strategy -> train/eval -> metrics -> results folder."""

from __future__ import annotations

import copy
import inspect
import platform
import random
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nsr_bench import __version__
from nsr_bench.config import CellSpec, SpecError, TrainSpec, parse_selector, validate
from nsr_bench.identity import cell_identity, check_identity, torch_threads
from nsr_bench.registry import lookup, resolve, tuning_scenario
from nsr_bench.results.store import ResultsStore, StoreError


@dataclass
class BuildContext:
    """What a strategy's ``build`` gets: the model to adapt, the scenario, the seed and device, and the
    cell's random streams (one per purpose, from the seed: :mod:`nsr_bench.training.streams`)."""

    model: Any
    scenario: Any
    seed: int
    device: str
    streams: Any = None

    def __post_init__(self) -> None:
        if self.streams is None:
            from nsr_bench.training.streams import RandomStreams

            self.streams = RandomStreams(self.seed)


def resolve_device(device: str) -> str:
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise SpecError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if device == "cpu":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda" if device == "auto" else device
    if device == "auto":
        return "cpu"
    raise SpecError(f"device {device!r} requested but CUDA is not available here; use --device cpu")


def resolve_cell(scenario: str, strategy: str, seed: int, device: str = "auto",
                 test: bool = False, threads: int | None = None, tuned: bool = True) -> CellSpec:
    """Resolve selectors such as ``"nsr[rank=8]"`` into a fully validated cell (no work done) that
    runs with ``threads`` torch threads (default: this process's count). Parameters layer as the
    spec's defaults, then its ``best`` settings for this scenario (``tuned``, and never in the tiny
    ``test`` configuration, which is the defaults plus the spec's test overrides), then the
    selector's overrides."""
    sc_name, sc_over = parse_selector(scenario)
    sc = lookup("scenarios", sc_name)
    train = sc.train.model_dump()
    params = dict(sc.params)
    if test:
        params.update(sc.test.get("params", {}))
        train.update(sc.test.get("train", {}))
    for key, value in sc_over.items():
        (train if key in TrainSpec.model_fields else params)[key] = value
    builder = resolve(sc.builder)
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("seed", "device")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise SpecError(f"scenario {sc_name!r} ({sc._path}): unknown parameter(s) {unknown}; allowed: "
                        f"{accepted + sorted(TrainSpec.model_fields)}")
    st_name, st_params = strategy_params(strategy, sc_name, test, tuned)
    st = lookup("strategies", st_name)
    device = resolve_device(device)
    return CellSpec(scenario=sc_name, builder=sc.builder, scenario_params=params,
                    train=validate(TrainSpec, train, f"scenario {sc_name!r} train"),
                    strategy=st_name, impl=st.impl, strategy_params=st_params, seed=seed, device=device,
                    identity=cell_identity(params, sc.sources(params), device, threads, st_params))


def strategy_params(strategy: str, scenario: str, test: bool = False, tuned: bool = True) -> tuple[str, dict]:
    """The name and validated parameters of the selector ``strategy`` on scenario ``scenario`` (layered as
    :func:`resolve_cell` says). A method module's ``resolve_params(raw, other)``, if it has one, may fill in
    parameters from other specs resolved on the same scenario (``other(name)``; e.g. replay's budget
    matched to NSR's Bank), so that they are part of the cell's hash."""
    st_name, st_over = parse_selector(strategy)
    st = lookup("strategies", st_name)
    best = st.best.get(tuning_scenario(scenario), {}) if tuned and not test else {}
    raw = {**st.defaults, **best, **(st.test if test else {}), **st_over}
    impl = resolve(st.impl)
    if hasattr(impl, "resolve_params"):
        raw = impl.resolve_params(raw, lambda other: strategy_params(other, scenario, test, tuned)[1])
    where = f"strategy {st_name!r} (spec {st._path}, overrides {st_over or 'none'})"
    return st_name, validate(impl.Params, raw, where).model_dump(mode="json")


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


def run_cell(cell: CellSpec, store: ResultsStore, force: bool = False, progress=None,
             on_experience=None) -> dict:
    """Run ``cell`` unless already finished in ``store``; return its summary.

    The attempt is recorded in the store's ``runs`` table; a failure (or an interrupt) marks it
    failed and stores nothing else. ``progress`` (a tqdm bar, optional) shows the experience;
    ``on_experience(i, running_acc)`` is called after experience i and may raise :class:`CellPruned`.
    A cell whose identity this process cannot honour (other code, data or device) raises
    :class:`~nsr_bench.identity.IdentityError` before anything runs.
    """
    if store.done(cell.hash) and not force:
        return store.summary(cell.hash)
    check_identity(cell)
    run_id = None
    try:  # an interrupt while the run row is written, the cell runs or its results are stored marks the run
        run_id = store.start_run(cell.hash)
        summary, documents, rows, curve_rows, bank = execute_cell(cell, progress, on_experience)
        store.write(cell, documents, rows, curve_rows, bank, run_id=run_id, force=force)
    except StoreError:  # a store that cannot write cannot record the failure either
        raise
    except BaseException as exc:
        status = {CellPruned: "pruned", KeyboardInterrupt: "interrupted"}.get(type(exc), "failed")
        if run_id is not None:
            store.fail_run(run_id, "".join(traceback.format_exception(exc)), status)
        raise
    return summary


def execute_cell(cell: CellSpec, progress=None, on_experience=None, extra_plugins=()):
    """Train and evaluate ``cell``; returns (summary, documents, matrix rows, curve rows, Bank bytes or None).

    ``extra_plugins`` (Avalanche plugins, e.g. an audit) join the loop without changing the cell.
    Torch runs with the cell's thread count (part of its identity), restored afterwards."""
    with flushed_subnormals(), torch_threads(cell.identity.threads):
        return _execute(cell, progress, on_experience, extra_plugins)


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


def training_loop(cell: CellSpec, model, context: BuildContext, plugins: list):
    """Avalanche's loop for ``cell`` (TensorTemplate: Adam, the cell's train spec) with ``plugins``."""
    import torch
    from avalanche.training.plugins import EvaluationPlugin

    from nsr_bench.training.template import TensorTemplate

    with warnings.catch_warnings():  # our recorder replaces Avalanche's loggers on purpose
        warnings.filterwarnings("ignore", message="No loggers specified")
        evaluator = EvaluationPlugin(loggers=[])
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"avalanche\.")
    return TensorTemplate(
        model=model, optimizer=torch.optim.Adam(model.parameters(), lr=cell.train.lr),
        criterion=torch.nn.CrossEntropyLoss(), train_mb_size=cell.train.batch_size,
        train_epochs=cell.train.epochs, eval_mb_size=cell.train.eval_batch_size, device=cell.device,
        plugins=plugins, evaluator=evaluator, data_order=context.streams.torch("data_order"))


def _execute(cell: CellSpec, progress, on_experience, extra_plugins):
    from nsr_bench.guards import FiniteLossGuard
    from nsr_bench.metrics.recorder import AccuracyRecorder
    from nsr_bench.plugins.reporting import EVALUATION_MODES, collect, modes_differ
    from nsr_bench.scenarios.targets import dedicated_targets

    started = time.perf_counter()
    seed_everything(cell.seed)
    scenario = resolve(cell.builder)(**cell.scenario_params, seed=cell.seed, device=cell.device)
    targets = dedicated_targets(scenario, cell.train, cell.seed, cell.device)  # shared by every strategy
    impl = resolve(cell.impl)
    model, context, plugins, feature_cache = prepare(
        cell, scenario, lambda ctx: impl.build(impl.Params(**cell.strategy_params), ctx))
    recorder = AccuracyRecorder(scenario.test_sets(), cell.train.eval_every,
                                batch_size=cell.train.eval_batch_size, curve_sets=scenario.val_sets())
    strategy = training_loop(cell, model, context, [*plugins, FiniteLossGuard(), recorder, *extra_plugins])
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
        if progress is not None:
            progress.set_postfix_str(f"{cell.strategy} seed {cell.seed}: exp {i}/{len(scenario.order)}")
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


def tuning_provenance(cell: CellSpec) -> dict:
    """Where the cell's settings came from: ``tuned`` with the sweep that chose them when every tuned
    setting of its spec for this scenario is in effect, else ``untuned`` (defaults or overrides)."""
    spec = lookup("strategies", cell.strategy)
    tuned_on = tuning_scenario(cell.scenario)
    best = spec.best.get(tuned_on)
    if best and all(cell.strategy_params.get(k) == v for k, v in best.items()):
        return {"status": "tuned", "settings": best, "sweep": spec.tuned_by.get(tuned_on), "tuned_on": tuned_on}
    return {"status": "untuned", "settings": best or {}, "sweep": None}


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
