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
                     "manifest": manifest, "stream_tasks": manifest.get("stream", {}).get("tasks", [])})
    cells = pd.DataFrame(rows)
    accuracy = pd.DataFrame(store.table("accuracy"))
    curves = pd.DataFrame(store.table("curves"))
    if not cells.empty:
        cells["label"] = labels(cells)
        keys = cells[["hash", "strategy", "label", "scenario", "seed"]]
        accuracy = accuracy.merge(keys, on="hash") if not accuracy.empty else accuracy
        curves = curves.merge(keys, on="hash") if not curves.empty else curves
    return Results(cells, accuracy, curves)


def labels(cells) -> list[str]:
    """``strategy`` where a strategy's cells share their parameters, else ``strategy[k=v,...]`` with
    the parameters that vary between its cells (e.g. the factors of an ablation matrix)."""
    params = [c for c in cells.columns if c.startswith("param.")]
    out = []
    for _, row in cells.iterrows():
        same = cells[cells["strategy"] == row["strategy"]]
        varying = [c for c in params if same[c].astype(str).nunique() > 1]
        inner = ",".join(f"{c.removeprefix('param.')}={row[c]}" for c in varying)
        out.append(f"{row['strategy']}[{inner}]" if inner else row["strategy"])
    return out
