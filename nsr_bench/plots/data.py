"""The results store as the tidy frames the figures read (one row per cell / curve point).

A row of a table and a line of a figure is one *experiment*: the cells that differ in nothing but their
seed (:func:`experiment`). :func:`streams` and :func:`labels` name every parameter that tells two
experiments apart, so that grouping by (stream, label) never pools two of them.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from dataclasses import dataclass
from typing import Any

from nsr_bench.config import format_selector

STREAM = ("scenario_params", "train")  # what a scenario selector sets: digits_cyclic[cycles=6,epochs=2]
STRATEGY = ("strategy_params",)


@dataclass
class Results:
    cells: object  # pandas.DataFrame, one row per cell: summary keys, param.* columns, manifest
    accuracy: object
    curves: object


def load(store) -> Results:
    """Read every finished cell of ``store``."""
    import pandas as pd

    rows = []
    for c in store.table("cells"):
        spec, summary, manifest = (json.loads(c[k]) for k in ("spec", "summary", "manifest"))
        rows.append({"memory_mb": None, **summary,  # None: a cell of an older store, memory unknown
                     **{f"param.{k}": v for k, v in {**spec["strategy_params"], **computed_by(spec)}.items()},
                     **{f"scenario.{k}": json.dumps(v) for k, v in spec.get("scenario_params", {}).items()},
                     "experiment": json.dumps(experiment(spec), sort_keys=True),
                     "manifest": manifest, "stream_tasks": manifest.get("stream", {}).get("tasks", [])})
    cells = pd.DataFrame(rows)
    accuracy = pd.DataFrame(store.table("accuracy"))
    curves = pd.DataFrame(store.table("curves"))
    if not cells.empty:
        cells["label"] = labels(cells)
        cells["stream"] = streams(cells)
        cells["trial"] = cells["hash"].isin(trial_cells(store))
        keys = cells[["hash", "strategy", "label", "scenario", "stream", "seed"]]
        accuracy = accuracy.merge(keys, on="hash") if not accuracy.empty else accuracy
        curves = curves.merge(keys, on="hash") if not curves.empty else curves
    return Results(cells, accuracy, curves)


def trial_cells(store) -> set[str]:
    """The hashes of the cells the store's Optuna sweeps ran: their trials and the default cell each sweep
    compares them with (none for a store without studies)."""
    from nsr_bench.plots import studies

    url = getattr(store, "url", None)
    swept = studies(url) if url else []
    trials = [t for s in swept for t in s.trials]
    defaults = {s.user_attrs["defaults_cell"] for s in swept if "defaults_cell" in s.user_attrs}
    return {t.user_attrs["cell"] for t in trials if "cell" in t.user_attrs} | defaults


def experiment(spec: dict[str, Any]) -> dict[str, Any]:
    """What the stored cell ``spec`` computes, but its seed: scenario, its parameters with the builder's
    defaults filled in (so ``digits_cyclic[recurrence=drift]`` and ``...,drift_strength=0.5]`` are one
    experiment), train settings, strategy and its (validated, complete) parameters. The rest of the spec
    (builder, impl, the rest of the identity) says which code computed the cell, not what it computes: two
    cells that differ only there are one experiment, and two of them of one seed are a conflict
    (:func:`nsr_bench.metrics.summary.group`); the threads and device it ran with (:func:`computed_by`) are
    part of the experiment."""
    return {"scenario": spec["scenario"],
            "scenario_params": {**builder_defaults(spec.get("builder", "")), **spec.get("scenario_params", {})},
            "train": spec.get("train", {}), "strategy": spec["strategy"],
            "strategy_params": {**spec["strategy_params"], **computed_by(spec)}}


def computed_by(spec: dict[str, Any]) -> dict[str, Any]:
    """The torch thread count and device a stored cell ran with. They change its numbers in the last bits,
    so cells that differ in them are not one experiment: where they vary, a label names them (a matrix run
    with ``-j 2``, one thread per cell, beside ``run`` cells on two threads) instead of a table pairing both
    cells of a seed. Absent in cells of older stores."""
    identity = spec.get("identity") or {}
    return {k: identity[key] for k, key in (("threads", "threads"), ("device", "device_name")) if key in identity}


@functools.cache
def builder_defaults(builder: str) -> dict[str, Any]:
    """The keyword defaults of scenario ``builder`` (``module:function``) but seed and device; none where
    it no longer imports (a cell of older code), so that its missing parameters stay missing."""
    from nsr_bench.config import SpecError
    from nsr_bench.registry import resolve

    try:
        signature = inspect.signature(resolve(builder))
    except (SpecError, TypeError, ValueError):
        return {}
    return {name: p.default for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and name not in ("seed", "device")}


def streams(cells) -> list[str]:
    """``scenario`` where a scenario's cells share their parameters and train settings, else the selector
    ``scenario[k=v,...]`` with those that vary between them (e.g. ``digits_cyclic[cycles=6]`` next to
    the default stream). A parameter one cell lacks and another sets varies."""
    return _varying(cells, "scenario", STREAM)


def labels(cells) -> list[str]:
    """``strategy`` where a strategy's cells share their parameters, else the selector ``strategy[k=v,...]``
    with the parameters that vary between its cells (e.g. the factors of an ablation matrix)."""
    return _varying(cells, "strategy", STRATEGY)


def _varying(cells, key: str, parts: tuple[str, ...]) -> list[str]:
    """Per cell, the selector of its ``key`` with the parameters (of the experiment's ``parts``) that vary
    among the cells of the same ``key``; a cell that lacks a varying parameter does not name it."""
    params = [{k: v for part in parts for k, v in json.loads(e)[part].items()} for e in cells["experiment"]]
    shown = {}
    for name in dict.fromkeys(cells[key]):
        peers = [p for n, p in zip(cells[key], params, strict=True) if n == name]
        shown[name] = [k for k in dict.fromkeys(k for p in peers for k in p)
                       if len({_token(p[k]) if k in p else None for p in peers}) > 1]
    return [format_selector(name, {k: p[k] for k in shown[name] if k in p})
            for name, p in zip(cells[key], params, strict=True)]


def varies(column) -> bool:
    """Whether a frame column holds more than one value, a missing one (NaN, None) counting as a value of
    its own: a parameter one cell lacks and another sets varies (``astype(str).nunique()`` drops NaN)."""
    return len({None if _missing(v) else _token(v) for v in column}) > 1


def _token(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
