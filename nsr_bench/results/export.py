"""The results store as tidy pandas tables, and their export to parquet and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from nsr_bench.outputs import OutputFolder

TABLES = ("cells", "accuracy", "curves", "runs")
SUMMARY = "summary"  # the summary table (summary_rows), exported next to the store's tables


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


def export(store, folder: OutputFolder) -> list[Path]:
    """Write every table, and the summary, as ``<name>.parquet`` and ``<name>.csv`` into ``folder``."""
    names = [*TABLES, SUMMARY]
    folder.check(*(f"{name}{suffix}" for name in names for suffix in (".parquet", ".csv")))
    tables = {**frames(store), SUMMARY: summary_frame(summary_rows(store)[0])}
    written = []
    for name, df in tables.items():
        written.append(folder.write_bytes(f"{name}.parquet", df.to_parquet(index=False)))
        written.append(folder.write_text(f"{name}.csv", df.to_csv(index=False)))
    return written


def summary_rows(store, spec=None) -> tuple[list, str]:
    """The summary table of every finished cell but the sweep trials (:mod:`nsr_bench.metrics.summary`): per
    stream and method variant, named as in the figures (:func:`nsr_bench.plots.figures.headline`), and the
    reference variant it is compared with (the figure spec's reference)."""
    from nsr_bench.metrics.summary import group, summarise
    from nsr_bench.plots.data import load
    from nsr_bench.plots.figures import headline, reference_name
    from nsr_bench.plots.spec import default_spec

    spec = spec or default_spec()
    cells, _, _ = headline(load(store), spec)
    if cells.empty:
        return [], spec.reference_name()
    reference = reference_name(cells) or spec.reference_name()
    groups = group((row["stream"], row["name"], row["seed"], row) for _, row in cells.iterrows())
    return summarise(groups, reference), reference


def summary_frame(rows):
    """The summary rows as numbers: per metric its mean, t-interval bounds and n; per compared metric the
    paired difference, raw and Holm-adjusted p."""
    import pandas as pd

    return pd.DataFrame([r.as_dict() for r in rows])


def export_cell(store, cell: str, folder: OutputFolder) -> list[Path]:
    """Write one cell (hash or unique prefix) as files: ``manifest.json``, ``summary.json``,
    ``accuracy_matrix.csv`` (one row per inference mode and experience, one column per task),
    ``curves.csv`` and, if it has one, ``bank.safetensors``."""
    row = store.cell(cell)
    bank = store.bank_bytes(row["hash"])
    folder.check("manifest.json", "summary.json", "accuracy_matrix.csv", "curves.csv",
                 *(["bank.safetensors"] if bank is not None else []))
    written = [folder.write_text(f"{name}.json", json.dumps(json.loads(row[name]), indent=1, sort_keys=True)
                                 + "\n") for name in ("manifest", "summary")]
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
        text = io.StringIO(newline="")
        csv.writer(text).writerows([header, *body])
        written.append(folder.write_text(name, text.getvalue()))
    if bank is not None:
        written.append(folder.write_bytes("bank.safetensors", bank))
    return written
