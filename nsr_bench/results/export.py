"""The results store as tidy pandas tables, and their export to parquet and CSV."""

from __future__ import annotations

import json
from pathlib import Path

TABLES = ("cells", "accuracy", "curves", "runs")


def frames(store) -> dict:
    """``cells`` (one row per cell, summary keys as columns, params flattened), ``accuracy``,
    ``curves`` and ``runs`` as DataFrames."""
    import pandas as pd

    out = {}
    cells = store.table("cells")
    rows = []
    for c in cells:
        spec = json.loads(c["spec"])
        params = {f"param.{k}": json.dumps(v) if isinstance(v, list | dict) else v
                  for k, v in spec["strategy_params"].items()}
        summary = {k: json.dumps(v) if isinstance(v, list | dict) else v
                   for k, v in json.loads(c["summary"]).items()}
        rows.append({**summary, **params, "finished_at": c["finished_at"]})
    out["cells"] = pd.DataFrame(rows)
    for name in TABLES[1:]:
        out[name] = pd.DataFrame(store.table(name))
    return out


def export(store, folder: str | Path) -> list[Path]:
    """Write every table as ``<name>.parquet`` and ``<name>.csv`` under ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in frames(store).items():
        for suffix, write in ((".parquet", df.to_parquet), (".csv", df.to_csv)):
            path = folder / f"{name}{suffix}"
            write(path, index=False)
            written.append(path)
    return written


def summary_frame(cells):
    """Mean and std over seeds of the headline metrics, per scenario and strategy."""
    metrics = [m for m in ("acc", "bwt", "forgetting", "recovery_steps_mean", "regret", "bank_mb_per_task")
               if m in cells]
    return cells.groupby(["scenario", "strategy"])[metrics].agg(["mean", "std"]).round(4)
