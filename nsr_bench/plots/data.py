"""The results store as the tidy frames the figures read (one row per cell / curve point)."""

from __future__ import annotations

import json
from dataclasses import dataclass


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
                     **{f"param.{k}": v for k, v in spec["strategy_params"].items()},
                     **{f"scenario.{k}": json.dumps(v) for k, v in spec.get("scenario_params", {}).items()},
                     "manifest": manifest, "stream_tasks": manifest.get("stream", {}).get("tasks", [])})
    cells = pd.DataFrame(rows)
    accuracy = pd.DataFrame(store.table("accuracy"))
    curves = pd.DataFrame(store.table("curves"))
    if not cells.empty:
        cells["label"] = labels(cells)
        cells["stream"] = streams(cells)
        keys = cells[["hash", "strategy", "label", "scenario", "stream", "seed"]]
        accuracy = accuracy.merge(keys, on="hash") if not accuracy.empty else accuracy
        curves = curves.merge(keys, on="hash") if not curves.empty else curves
    return Results(cells, accuracy, curves)


def streams(cells) -> list[str]:
    """``scenario`` where a scenario's cells share their parameters, else ``scenario[k=v,...]`` with the
    parameters that vary between them (e.g. ``digits_cyclic[cycles=6]`` next to the default stream)."""
    return _varying(cells, "scenario", "scenario.")


def labels(cells) -> list[str]:
    """``strategy`` where a strategy's cells share their parameters, else ``strategy[k=v,...]`` with
    the parameters that vary between its cells (e.g. the factors of an ablation matrix)."""
    return _varying(cells, "strategy", "param.")


def _varying(cells, key: str, prefix: str) -> list[str]:
    columns = [c for c in cells.columns if c.startswith(prefix)]
    out = []
    for _, row in cells.iterrows():
        same = cells[cells[key] == row[key]]
        varying = [c for c in columns if same[c].astype(str).nunique() > 1]
        inner = ",".join(f"{c.removeprefix(prefix)}={row[c]}" for c in varying)
        out.append(f"{row[key]}[{inner}]" if inner else row[key])
    return out
