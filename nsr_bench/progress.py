"""The one progress display of long work: a tqdm bar on stderr over the units still to compute (so its rate
and ETA are the computed units', never the reused ones), a stage text, and the count of reused, computed
and failed cells that a command prints at its end (:meth:`Progress.line`)."""

from __future__ import annotations

import sys
from types import TracebackType


class Progress:
    """A progress bar named ``desc`` counting ``unit``\\ s (cells, trials, episodes), with the cell counts.

    Use it as a context manager (the bar closes at the end of the block)."""

    def __init__(self, desc: str, unit: str = "cell"):
        from tqdm import tqdm

        self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr)
        self.reused = self.computed = self.failed = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.close()

    def plan(self, total: int, desc: str | None = None) -> None:
        """Start over with ``total`` units to compute (and a new name, if given); the counts are kept."""
        if desc is not None:
            self.bar.set_description_str(desc)
        self.bar.reset(total=total)

    def stage(self, text: str) -> None:
        """What the unit being computed is doing now (pre-training, targets, training, evaluation)."""
        self.bar.set_postfix_str(text)

    def advance(self, units: int = 1) -> None:
        """``units`` units computed (or failed)."""
        self.bar.update(units)

    def count(self, reused: int = 0, computed: int = 0, failed: int = 0) -> None:
        """Add to the cells reused from the store, computed here and failed."""
        self.reused, self.computed, self.failed = (self.reused + reused, self.computed + computed,
                                                   self.failed + failed)

    def write(self, text: str) -> None:
        """Print a line (to stdout) without breaking the bar."""
        self.bar.write(text, file=sys.stdout)

    def line(self) -> str:
        """What the command did with its cells, printed at its end."""
        return (f"cells: reused {self.reused}, computed {self.computed}"
                + (f", failed {self.failed}" if self.failed else ""))
