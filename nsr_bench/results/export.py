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
    metrics = [m for m in ("acc", "acc_agnostic", "bwt", "bwt_agnostic", "forgetting", "retention",
                           "recovery_steps_mean", "regret", "task_id_acc", "memory_mb") if m in cells]
    return cells.groupby(["scenario", "strategy"])[metrics].agg(["mean", "std"]).round(4)


def export_cell(store, cell: str, folder: str | Path) -> list[Path]:
    """Write one cell (hash or unique prefix) as files: ``manifest.json``, ``summary.json``,
    ``accuracy_matrix.csv`` (one row per inference mode and experience, one column per task),
    ``curves.csv`` and, if it has one, ``bank.safetensors``."""
    import csv

    row = store.cell(cell)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("manifest", "summary"):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(json.loads(row[name]), indent=1, sort_keys=True) + "\n")
        written.append(path)
    accuracy = store.rows("accuracy", row["hash"])
    tasks = sorted({r["task"] for r in accuracy})
    matrix: dict[tuple[str, int], dict[int, float]] = {}
    for r in accuracy:
        matrix.setdefault((r["mode"], r["experience"]), {})[r["task"]] = r["acc"]
    curve_fields = ["experience", "task", "recurrence", "step", "acc"]
    curves = store.rows("curves", row["hash"])
    tables = {"accuracy_matrix.csv": (["mode", "experience", *(f"task_{t}" for t in tasks)],
                                      [[m, i, *(accs.get(t) for t in tasks)] for (m, i), accs in matrix.items()]),
              "curves.csv": (curve_fields, [[r[k] for k in curve_fields] for r in curves])}
    for name, (header, body) in tables.items():
        with open(folder / name, "w", newline="") as f:
            csv.writer(f).writerows([header, *body])
        written.append(folder / name)
    bank = store.bank_bytes(row["hash"])
    if bank is not None:
        (folder / "bank.safetensors").write_bytes(bank)
        written.append(folder / "bank.safetensors")
    return written
