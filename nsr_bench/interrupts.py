"""SIGTERM and SIGHUP end a command the way Ctrl-C (SIGINT) does.

While :func:`interrupting` is active, either signal raises :class:`Interrupted`, a ``KeyboardInterrupt``,
in the main thread: every path that handles Ctrl-C handles it too (the running cell's run is marked
``interrupted``, finished cells are kept). The command then exits with the conventional status
128 + the signal's number (:func:`exit_status`): 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """The process received ``signum`` (SIGTERM or SIGHUP)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextmanager
def interrupting() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread only); the previous
    handlers are restored after it."""
    previous = {sig: signal.signal(sig, _raise) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 + the number of the signal that raised ``exc`` (SIGINT for a plain KeyboardInterrupt)."""
    return 128 + getattr(exc, "signum", signal.SIGINT)
