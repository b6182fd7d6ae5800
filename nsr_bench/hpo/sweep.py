"""Hyper-parameter sweeps with Optuna (Akiba et al., KDD 2019) over strategy search spaces.

The search space is the strategy spec's ``search_space``; every trial is an ordinary cell in the
results store (cached by hash). TPE with a fixed sampler seed by default. A sweep never reads the test
set: the default objective ``acc_val`` is the final accuracy on the validation splits carved from each
task's training data, and the intermediate value after experience i is the running validation accuracy
over the tasks seen so far, so a step-aligned pruner (median, Wilcoxon, or a deliberately strict
percentile pruner) can stop weak trials. The study lives in the results database by default
(``--storage`` may name another database or a ``journal:FILE`` for several local processes); a sweep
resumes until the study holds ``trials`` finished trials. Multi-objective sweeps trade validation
accuracy against memory and return the Pareto front.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from nsr_bench.cache import locked
from nsr_bench.config import SpecError, format_selector, parse_yaml
from nsr_bench.execution import CellPruned
from nsr_bench.registry import lookup, spec_dirs
from nsr_bench.resolution import resolve_cell
from nsr_bench.runner import run_cell

PRUNERS = ("median", "wilcoxon", "strict", "none")
OBJECTIVES = {"acc_val": "maximize", "memory_mb": "minimize", "bank_mb_total": "minimize",
              "recovery_steps_mean": "minimize", "regret": "minimize"}  # none reads the test set


SPACE_KEYS = {"int": {"type", "low", "high", "log"}, "float": {"type", "low", "high", "log"},
              "categorical": {"type", "choices"}}


def space_entry(name: str, dist: Any) -> tuple[str, dict[str, Any]]:
    """The kind (int, float, categorical) and Optuna arguments of search-space entry ``name``:
    ``{type: int|float, low, high, log}`` or ``{choices: [...]}``; a SpecError saying what is wrong."""
    from optuna import distributions

    try:
        kind, kwargs = _entry(dist)
        {"int": distributions.IntDistribution, "float": distributions.FloatDistribution,
         "categorical": distributions.CategoricalDistribution}[kind](**kwargs)  # Optuna's own checks
    except (TypeError, ValueError) as exc:
        raise SpecError(f"search space entry {name!r} ({dist}): {str(exc).rstrip('.')}; give {{type: int|float, "
                        "low: L, high: H "
                        "(L <= H), log: true|false} or {choices: [...]} with at least one choice") from None
    return kind, kwargs


def _entry(dist: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(dist, dict):
        raise ValueError("not a mapping")
    kind = dist.get("type", "categorical" if "choices" in dist else None)
    if kind not in SPACE_KEYS:
        raise ValueError(f"type {kind!r} is not int, float or categorical")
    unknown = sorted(set(dist) - SPACE_KEYS[kind])
    missing = sorted(SPACE_KEYS[kind] - {"type", "log"} - set(dist))
    if unknown or missing:
        raise ValueError(f"{'unknown keys ' + str(unknown) if unknown else 'missing ' + str(missing)} for a "
                         f"{kind} entry")
    if kind == "categorical":
        if not isinstance(dist["choices"], list):
            raise ValueError("choices must be a list")
        return kind, {"choices": dist["choices"]}
    number = int if kind == "int" else (int, float)
    bounds = (dist["low"], dist["high"])
    if not all(isinstance(b, number) and not isinstance(b, bool) and math.isfinite(b) for b in bounds):
        raise ValueError(f"low and high must be finite {kind}s")
    return kind, {"low": dist["low"], "high": dist["high"], "log": bool(dist.get("log", False))}


def check_space(strategy: str) -> None:
    """Every search-space entry of ``strategy``'s spec is one Optuna can draw from, before any trial."""
    spec = lookup("strategies", strategy)
    for name, dist in spec.search_space.items():
        try:
            space_entry(name, dist)
        except SpecError as exc:
            raise SpecError(f"{spec._path or strategy}: {exc}") from None


def suggest(trial, space: dict[str, Any]) -> dict[str, Any]:
    """Draw one value per search-space entry (see :func:`space_entry`)."""
    params = {}
    for name, dist in space.items():
        kind, kwargs = space_entry(name, dist)
        params[name] = getattr(trial, f"suggest_{kind}")(name, **kwargs)
    return params


def make_pruner(name: str):
    import optuna

    if name not in PRUNERS:
        raise SpecError(f"unknown pruner {name!r}; choose one of {PRUNERS}")
    return {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
            "wilcoxon": lambda: optuna.pruners.WilcoxonPruner(p_threshold=0.1),
            "strict": lambda: optuna.pruners.PercentilePruner(99.0, n_startup_trials=1, n_warmup_steps=0),
            "none": optuna.pruners.NopPruner}[name]()


def optuna_storage(url: str):
    """An RDB URL as is; ``journal:FILE`` as a journal file (several local processes) in an existing folder."""
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:"))
        if not path.parent.is_dir():
            raise SpecError(f"--storage {url}: the journal's folder {path.parent} does not exist; create it or "
                            "give a journal file in an existing folder")
        return JournalStorage(JournalFileBackend(str(path)))
    return url


def sweep(strategy: str, scenario: str, trials: int, store, storage: str | None = None,
          objectives: tuple[str, ...] = ("acc_val",), pruner: str = "median", sampler_seed: int = 0,
          seed: int = 0, device: str = "cpu", test: bool = False, study_name: str | None = None, progress=None,
          logs=None):
    """Run (or resume) a sweep until its study has ``trials`` finished trials; returns the study.
    ``progress`` (a :class:`~nsr_bench.progress.Progress`, optional) counts the trials still to run, shows
    each one's stage and counts its cell reused or computed (a pruned one too); ``logs`` (a
    :class:`~nsr_bench.logs.TrainingLogs`, optional) logs the computed cells' training."""
    import optuna
    from optuna.trial import TrialState

    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown:
        raise SpecError(f"unknown objective(s) {unknown}; choose from {sorted(OBJECTIVES)}")
    spec = lookup("strategies", strategy)
    if not spec.search_space:
        raise SpecError(f"strategy {strategy!r} has an empty search_space in its spec; nothing to tune")
    check_space(strategy)
    resolve_cell(scenario, strategy, seed, device, test, tuned=False)  # validate before creating anything
    optuna.logging.set_verbosity(logging.WARNING)
    name = study_name or f"sweep-{strategy}-{scenario}-{'+'.join(objectives)}" + ("-test" if test else "")
    multi = len(objectives) > 1
    study = optuna.create_study(
        study_name=name, storage=optuna_storage(storage or store.url), load_if_exists=True,
        directions=[OBJECTIVES[o] for o in objectives],
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.NopPruner() if multi else make_pruner(pruner))

    def objective(trial):
        params = suggest(trial, spec.search_space)
        cell = resolve_cell(scenario, format_selector(strategy, params), seed, device, test, tuned=False)
        trial.set_user_attr("cell", cell.hash)

        def report(step: int, value: float) -> None:
            if multi:
                return
            trial.report(value, step)
            if trial.should_prune():
                raise CellPruned(f"pruned at experience {step}")

        reused = store.done(cell.hash)
        try:
            summary = run_cell(cell, store, progress=progress, on_experience=report, logs=logs)
        except CellPruned:
            summary = None
        if progress is not None:  # a pruned cell was computed in part (and not stored)
            progress.count(reused=reused, computed=not reused)
        if summary is None:
            raise optuna.TrialPruned()
        values = [summary[o] if summary[o] is not None else float("nan") for o in objectives]
        return values if multi else values[0]

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    remaining = trials - len(study.get_trials(deepcopy=False, states=finished))
    if progress is not None:
        progress.plan(max(remaining, 0), desc=f"sweep {strategy}")
    for _ in range(remaining):
        run_trial(study, objective)
        if progress is not None:
            progress.advance()
    return study


def run_trial(study, objective) -> None:
    """One trial by ask and tell rather than ``study.optimize``, which logs a traceback for an interrupt:
    an interrupt (Ctrl-C, SIGTERM) or an error fails the trial and is raised as it is."""
    import optuna
    from optuna.trial import TrialState

    trial = study.ask()
    try:
        values = objective(trial)
    except optuna.TrialPruned:
        study.tell(trial, state=TrialState.PRUNED)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    else:
        study.tell(trial, values)


def pareto_front(study) -> list:
    """The non-dominated trials of a multi-objective study."""
    return list(study.best_trials)


def provenance(study, scenario: str, objective: str, seed: int, sampler_seed: int, pruner: str) -> dict[str, Any]:
    """What a tuned setting came from: enough to re-run the sweep and to judge its budget (``scenario`` is
    the selector tuned on, which may be a cheaper variant of the scenario; ``code`` the sweep code's digest)."""
    from optuna.trial import TrialState

    from nsr_bench.memo import code_digest

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {"study": study.study_name, "scenario": scenario, "code": code_digest(__name__), "objective": objective,
            "value": round(float(study.best_value), 6),
            "trials": states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED),
            "pruned": states.count(TrialState.PRUNED), "sampler": f"TPE(seed={sampler_seed})",
            "pruner": pruner, "cell_seed": seed}


def best_of(study, default: dict[str, Any], defaults: dict[str, Any], objective: str
            ) -> tuple[dict[str, Any], float, str]:
    """The settings to record: the best trial's, unless the untuned default cell (``default``, its summary;
    ``defaults``, its resolved strategy parameters) did strictly better on ``objective``; then the defaults
    of the searched parameters. Returns (settings, objective value, which won: ``trial`` or ``defaults``)."""
    value = default[objective]
    better = value > study.best_value if OBJECTIVES[objective] == "maximize" else value < study.best_value
    if not better:
        return study.best_params, study.best_value, "trial"
    return {k: defaults[k] for k in study.best_params}, value, "defaults"


def write_best(strategy: str, scenario: str, params: dict[str, Any], sweep: dict[str, Any] | None = None) -> Path:
    """Record ``params`` as the per-scenario best settings in the strategy's YAML spec, and ``sweep``
    (see :func:`provenance`) as where they came from."""
    for folder in spec_dirs("strategies"):
        for path in sorted(folder.glob("*.yaml")):
            with locked(path):  # parallel sweeps (one per scenario) may write the same spec
                text = path.read_text()
                data = parse_yaml(text, str(path))
                if isinstance(data, dict) and data.get("name") == strategy:
                    blocks = {"best": {**data.get("best", {}), scenario: params}}
                    if sweep is not None:
                        blocks["tuned_by"] = {**data.get("tuned_by", {}), scenario: sweep}
                    path.write_text(replace_blocks(text, blocks))
                    return path
    raise SpecError(f"no spec file for strategy {strategy!r} in {spec_dirs('strategies')}")


def replace_blocks(text: str, blocks: dict[str, Any]) -> str:
    """``text`` (a YAML mapping) with the top-level keys ``blocks`` replaced (or appended), leaving every
    other line, comments included, as written."""
    import re

    import yaml

    for key in blocks:
        text = re.sub(rf"^{key}:.*?(?=^\S|\Z)", "", text, flags=re.S | re.M)
    return text.rstrip("\n") + "\n" + yaml.safe_dump(blocks, sort_keys=False, default_flow_style=None)
