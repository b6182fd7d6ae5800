"""What rendering a figure gives back: its files, its title and the caption a report prints under it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rendered:
    """One rendered figure: ``png`` and ``pdf`` (vector) beside it, a short ``title`` and the ``caption``
    (what is shown, n, the interval's method and what is left out)."""

    png: Path
    title: str
    caption: str

    @property
    def pdf(self) -> Path:
        return self.png.with_suffix(".pdf")
