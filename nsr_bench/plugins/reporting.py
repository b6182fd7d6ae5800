"""What a plugin tells the runner: the one interface the runner uses instead of knowing any method.

A plugin that has something to report implements :class:`Reporting` (a ``report()`` method, and
``adapted_modules()`` if it changes backbone modules); the runner merges every report into the cell's
manifest and summary. The runner never inspects a plugin's type or attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

EVALUATION_MODES = ("oracle", "agnostic")
"""Every evaluation runs once per mode, passed to every hook as ``mode``: ``oracle`` knows the task id of
each test sample; ``agnostic`` does not (class-incremental, or whatever routing a strategy does). When no
plugin changes the model's outputs by mode (:func:`modes_differ`), one pass gives every mode's row."""


@dataclass
class PluginReport:
    """A plugin's contribution to a finished cell.

    Attributes:
        manifest: entries for the cell's manifest (e.g. allocation decisions).
        summary: entries for the cell's summary (e.g. routing accuracy, Bank size).
        retained_bytes: bytes of state kept beyond the backbone and the live model (Bank, buffers, ...).
        artifacts: named binary artifacts stored with the cell (e.g. ``{"bank": ...}``).
    """

    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    retained_bytes: int = 0
    artifacts: dict[str, bytes] = field(default_factory=dict)


def tensor_bytes(*held: Any) -> int:
    """Bytes of every tensor in ``held``: tensors, objects with a tensor ``data`` (Avalanche's
    ``ParamData``), and mappings, lists and tuples of them, nested."""
    total = 0
    for obj in held:
        if isinstance(obj, Tensor):
            total += obj.numel() * obj.element_size()
        elif isinstance(obj, Mapping):
            total += tensor_bytes(*obj.values())
        elif isinstance(obj, list | tuple):
            total += tensor_bytes(*obj)
        elif isinstance(getattr(obj, "data", None), Tensor):
            total += tensor_bytes(obj.data)
    return total


@runtime_checkable
class Reporting(Protocol):
    def report(self) -> PluginReport:
        """What this plugin has to report once the stream is over."""


@runtime_checkable
class Adapting(Protocol):
    def adapted_modules(self) -> list[str]:
        """Names (relative to the model) of the modules this plugin changes during training."""


@runtime_checkable
class Routing(Protocol):
    def routes_by_mode(self) -> bool:
        """True if this plugin makes the model's evaluation outputs depend on the evaluation mode."""


def modes_differ(plugins: list) -> bool:
    """Whether any plugin's evaluation outputs depend on the mode (else the modes share one forward pass)."""
    return any(p.routes_by_mode() for p in plugins if isinstance(p, Routing))


def adapted_modules(plugins: list) -> set[str]:
    """The modules any plugin adapts, so that they are never cached as frozen."""
    return {name for p in plugins if isinstance(p, Adapting) for name in p.adapted_modules()}


def collect(plugins: list) -> PluginReport:
    """All reports merged: manifest and summary entries, bytes summed, artifacts joined."""
    total = PluginReport()
    for p in plugins:
        if isinstance(p, Reporting):
            r = p.report()
            total.manifest.update(r.manifest)
            total.summary.update(r.summary)
            total.retained_bytes += r.retained_bytes
            total.artifacts.update(r.artifacts)
    return total
