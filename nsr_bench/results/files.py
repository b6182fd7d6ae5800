"""A results folder: one sub-folder per finished cell, named by the cell's config hash.

``cells/<hash>/`` holds ``manifest.json`` (full config, seed, versions, device, timings),
``summary.json``, ``accuracy_matrix.csv`` (long format), ``curves.json`` (recovery curves) and,
for strategies with a Bank, ``bank.safetensors``. A cell is written into a temporary folder and
renamed into place, so an interrupted run never leaves a half-written cell.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from nsr_bench.config import SpecError


def tidy(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, tuples become lists, numpy scalars become Python."""
    if isinstance(obj, dict):
        return {str(k): tidy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [tidy(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


class ResultsDir:
    """Finished cells under ``root/cells``."""

    def __init__(self, root: str | Path):
        text = str(root)
        if "://" in text:
            raise SpecError(f"--results {text!r} looks like a database URL; the SQL results store is "
                            "not available yet, so pass a folder (e.g. --results results)")
        self.root = Path(root)
        self.cells = self.root / "cells"

    def done(self, cell_hash: str) -> bool:
        return (self.cells / cell_hash / "summary.json").is_file()

    def summary(self, cell_hash: str) -> dict:
        return json.loads((self.cells / cell_hash / "summary.json").read_text())

    def summaries(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.cells.glob("*/summary.json"))]

    def write(self, cell_hash: str, documents: dict[str, Any], matrix_rows: list[dict],
              bank=None) -> Path:
        """Atomically store a finished cell: JSON documents, the long-format matrix, the Bank."""
        try:
            self.cells.mkdir(parents=True, exist_ok=True)
            tmp = self.cells / f".tmp-{cell_hash}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            for name, doc in documents.items():
                (tmp / f"{name}.json").write_text(json.dumps(tidy(doc), indent=1, sort_keys=True))
            lines = ["mode,experience,task,acc"]
            lines += [f"{r['mode']},{r['experience']},{r['task']},{r['acc']!r}" for r in matrix_rows]
            (tmp / "accuracy_matrix.csv").write_text("\n".join(lines) + "\n")
            if bank is not None:
                bank.save(tmp / "bank.safetensors")
            final = self.cells / cell_hash
            if final.exists():
                shutil.rmtree(final)
            tmp.replace(final)
            return final
        except OSError as exc:
            raise SpecError(f"cannot write results under {self.root} ({exc.strerror or exc}); "
                            "choose a writable folder with --results") from None
