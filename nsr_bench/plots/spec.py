"""The figure spec (``nsr_bench/plots/spec.yaml`` by default, ``nsr-bench figures --spec FILE``): which
strategies the headline figures show, their display names, one fixed colour each, and the reference.

An entry's key is a selector. ``nsr`` names the cells of strategy ``nsr`` whatever their parameters;
``nsr[bank=false]`` those with ``bank`` false. A cell takes the most specific entry that selects it, and
the parameters that vary among that entry's cells name its variant (:mod:`nsr_bench.plots.naming`).
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field

from nsr_bench.config import SpecError, Strict, load_yaml, parse_selector, validate

DEFAULT = Path(__file__).with_name("spec.yaml")
MAX_LINES = 8
FALLBACK = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255")
"""Colours of strategies no spec entry names: Paul Tol's muted palette (colour-blind safe)."""


class Entry(Strict):
    name: str = Field(description="the name printed in legends and tables")
    colour: str = Field(description="a matplotlib colour, the same in every figure")


class FigureSpec(Strict):
    reference: str = Field(description="the entry drawn thicker and compared with")
    strategies: dict[str, Entry] = Field(min_length=1, description="selector -> entry, legend order")
    names: dict[str, str] = Field({}, description="strategy -> the name printed where no entry draws it")

    def selectors(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(key, strategy name, pinned parameters) per entry."""
        return [(key, *parse_selector(key)) for key in self.strategies]

    def entry(self, key: str) -> Entry:
        return self.strategies[key]

    def display(self, strategy: str) -> str:
        """The printed name of ``strategy``'s cells that no entry selects (its raw name only if unnamed)."""
        return self.names.get(strategy, strategy)

    def reference_name(self) -> str:
        return self.strategies[self.reference].name

    def colour_of(self, name: str) -> str:
        """The colour of the entry shown as display name ``name``."""
        return next(e.colour for e in self.strategies.values() if e.name == name)


def load_spec(path: str | Path | None = None) -> FigureSpec:
    """The figure spec in ``path`` (default: the shipped one), checked: at most :data:`MAX_LINES`
    entries, registered strategy names, matplotlib colours, the reference among the entries."""
    import matplotlib.colors

    from nsr_bench import registry

    where = str(path or DEFAULT)
    spec = validate(FigureSpec, load_yaml(path or DEFAULT), where)
    if len(spec.strategies) > MAX_LINES:
        raise SpecError(f"{where}: {len(spec.strategies)} strategies, at most {MAX_LINES} lines fit a panel; "
                        "move the others to a second spec (or show them in the ablation figures)")
    known = registry.strategies()
    for name in sorted(set(spec.names) - set(known)):
        raise SpecError(f"{where}: names.{name}: unknown strategy; name one of `nsr-bench list`: "
                        f"{', '.join(sorted(known))}")
    for key, name, _ in spec.selectors():
        if name not in known:
            raise SpecError(f"{where}: strategies.{key}: unknown strategy {name!r}; "
                            f"name one of `nsr-bench list`: {', '.join(sorted(known))}")
        if not matplotlib.colors.is_color_like(spec.strategies[key].colour):
            raise SpecError(f"{where}: strategies.{key}.colour {spec.strategies[key].colour!r} is not a colour; "
                            "give a name (red) or hex (#d62728)")
    if spec.reference not in spec.strategies:
        raise SpecError(f"{where}: reference {spec.reference!r} is not one of strategies "
                        f"({', '.join(spec.strategies)})")
    return spec


@lru_cache(maxsize=1)
def default_spec() -> FigureSpec:
    return load_spec()


def _parts(label: str) -> tuple[str, dict[str, Any]]:
    """A selector (``nsr[bank=false]``) or a matrix label (``strategy="nsr",bank=false``) as (name, params)."""
    if "=" in label and "[" not in label:
        params = parse_selector(f"x[{label}]")[1]
        return str(params.pop("strategy", "")), params
    return parse_selector(label)


def _entry_of(label: str, spec: FigureSpec) -> tuple[Entry | None, dict[str, Any]]:
    """The entry with the label's strategy and parameters, else its strategy's plain entry with the
    parameters it does not pin; (None, {}) when no entry has the strategy."""
    name, params = _parts(label)
    plain = None
    for key, entry_name, pinned in spec.selectors():
        if entry_name == name and pinned == params:
            return spec.entry(key), {}
        if entry_name == name and not pinned:
            plain = spec.entry(key)
    return plain, params if plain else {}


def display_name(label: str, spec: FigureSpec | None = None) -> str:
    """The printed name of a strategy label (``nsr`` -> ``NSR (Bank + similarity)``; ``nsr[cap=5]`` ->
    ``NSR (Bank + similarity) [cap=5]``); a label no entry knows prints under the spec's ``names`` for its
    strategy, with its parameters, else as it is."""
    spec = spec or default_spec()
    entry, extra = _entry_of(label, spec)
    if entry is None:
        strategy, extra = parse_selector(label)
        if strategy not in spec.names:
            return label
    name = entry.name if entry else spec.names[strategy]
    return name + (" [" + ",".join(f"{k}={v}" for k, v in extra.items()) + "]" if extra else "")


def colour(label: str, spec: FigureSpec | None = None) -> str:
    """The fixed colour of a strategy label: its entry's, else one derived from the label (stable)."""
    entry, _ = _entry_of(label, spec or default_spec())
    return entry.colour if entry else FALLBACK[zlib.crc32(label.encode()) % len(FALLBACK)]


def at_defaults(cells, pinned: dict[str, Any] | None = None, free: tuple[str, ...] = ()):
    """Boolean mask over ``cells``: parameters ``pinned`` hold their values, and every other parameter
    that varies among a strategy's cells (but those in ``free``) sits at the strategy spec's default (and
    per-scenario ``best``). So an ablation matrix's variants do not pool with the default cells."""
    import pandas as pd

    from nsr_bench import registry
    from nsr_bench.plots.data import varies

    known = registry.strategies()
    pinned = pinned or {}
    params = [c for c in cells.columns if c.startswith("param.")]
    mask = pd.Series(True, index=cells.index)
    for strategy, g in cells.groupby("strategy"):
        st = known.get(strategy)
        varying = [c.removeprefix("param.") for c in params if varies(g[c])]
        for i, row in g.iterrows():
            defaults = {**st.defaults, **st.best.get(registry.tuning_scenario(row["scenario"]), {})} if st else {}
            wanted = {**{k: defaults[k] for k in varying if k in defaults and k not in free}, **pinned}
            mask[i] = all(row.get(f"param.{k}") == v for k, v in wanted.items())
    return mask
