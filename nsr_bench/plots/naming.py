"""The names, colours and line styles the figures and tables give cells.

A cell is shown under its *method*: the figure-spec entry that selects its strategy (the most specific
pinned one, e.g. ``nsr[bank=false]``, else the plain ``nsr``), else its strategy name with a fallback
colour. Cells of one method that differ in their parameters are *variants*: the method's name plus the
parameters that vary among the method's cells (``NSR (Bank + similarity) [bank=False, distill_lambda=0]``),
floats to 3 significant digits. Settings a cell takes from its spec's tuned ``best`` print as ``tuned``,
and where parameters vary only because some cells are tuned, the others print as ``defaults`` (or
``untuned`` when they are not the spec's defaults).
"""

from __future__ import annotations

import colorsys
import json
import math
from typing import Any

from nsr_bench.plots.spec import FigureSpec, colour

TUNED = "\0tuned"  # a tuned setting's token: it differs from every printed value
DASHES = ("-", "--", ":", "-.")


def method_key(strategy: str, params: dict[str, Any], spec: FigureSpec) -> str | None:
    """The key of the most specific spec entry of ``strategy`` whose pinned parameters ``params`` hold."""
    matching = [(len(pinned), key) for key, name, pinned in spec.selectors()
                if name == strategy and all(params.get(k) == v for k, v in pinned.items())]
    return max(matching)[1] if matching else None


def fmt(value: Any) -> str:
    """A parameter value as printed: floats to 3 significant digits, the rest as Python prints them."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value) if isinstance(value, bool | int | str) else json.dumps(value, sort_keys=True)


def tuned_keys(manifest: dict) -> set[str]:
    """The settings a cell takes from its spec's tuned ``best`` (its manifest's ``tuning``; none untuned)."""
    tuning = manifest.get("tuning") if isinstance(manifest, dict) else None
    return set(tuning.get("settings", {})) if tuning and tuning.get("status") == "tuned" else set()


def _params(row) -> dict[str, Any]:
    """A frame row's strategy parameters, those the cell lacks (NaN) left out."""
    return {c.removeprefix("param."): v for c, v in row.items() if c.startswith("param.")
            and not (v is None or (isinstance(v, float) and math.isnan(v)))}


def _tokens(params: dict[str, Any], tuned: set[str]) -> dict[str, str]:
    return {k: TUNED if k in tuned else json.dumps(v, sort_keys=True, default=str) for k, v in params.items()}


def _varying(tokens: list[dict[str, str]]) -> list[str]:
    """The keys whose token differs between the dicts (a key one lacks and another has differs)."""
    keys = dict.fromkeys(k for t in tokens for k in t)
    return [k for k in keys if len({t.get(k) for t in tokens}) > 1]


def _part(params: dict[str, Any], untuned: list[str], defaults: dict[str, Any]) -> str:
    """``defaults`` when the ``untuned`` settings are the strategy spec's ``defaults``, else ``untuned``."""
    return "defaults" if all(k in defaults and params[k] == defaults[k] for k in untuned) else "untuned"


def variant(params: dict[str, Any], tuned: set[str], varying: list[str], factors: list[str],
            strategy: str) -> tuple[list[str], int]:
    """The label parts of one cell (``tuned``/``defaults``, then ``k=v`` per factor) and how many of its
    factors are off the spec's defaults (0 for the default or tuned variant)."""
    from nsr_bench import registry

    st = registry.strategies().get(strategy)
    defaults = st.defaults if st else {}
    shown = [k for k in varying if k in params]
    parts = ["tuned"] if any(k in tuned for k in shown) else []
    untuned = [k for k in shown if k not in tuned and k not in factors]
    parts += [_part(params, untuned, defaults)] if untuned else []
    named = [k for k in shown if k not in tuned and k in factors]
    off = sum(params[k] != defaults.get(k) for k in named)
    return parts + [f"{k}={fmt(params[k])}" for k in named], off + (not parts and bool(untuned))


def _shade(hex_colour: str, k: int, n: int) -> str:
    """The ``k``-th of ``n`` shades of a colour, the first the colour itself, later ones lighter."""
    import matplotlib.colors

    h, lum, s = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(hex_colour))
    lum = lum + (0.85 - lum) * (k / n if n > 1 else 0)
    return matplotlib.colors.to_hex(colorsys.hls_to_rgb(h, lum, s))


def _labels(strategies: list[str], params: list[dict], tuned: list[set], pinned: dict) -> tuple[list, list]:
    """Label parts and off-default counts of one method's cells (its pinned parameters not printed)."""
    values = [_tokens(p, set()) for p in params]
    given = {(k, v) for vs, t in zip(values, tuned, strict=True) for k, v in vs.items() if k not in t}
    # a tuned setting equal to a value other cells set explicitly prints as that value, not as "tuned"
    tuned = [{k for k in t if (k, vs.get(k)) not in given} for vs, t in zip(values, tuned, strict=True)]
    tokens = [_tokens(p, t) for p, t in zip(params, tuned, strict=True)]
    varying = [k for k in _varying(tokens) if k not in pinned]
    factors = [k for k in varying if len({t[k] for t in tokens if t.get(k, TUNED) != TUNED}) > 1]
    out = [variant(p, t, varying, factors, s) for s, p, t in zip(strategies, params, tuned, strict=True)]
    return [o[0] for o in out], [o[1] for o in out]


def name_cells(cells, spec: FigureSpec):
    """``cells`` with ``method`` (display name), ``name`` (with the variant), ``colour`` (a shade of the
    method's colour per variant), ``dash`` (a line style per variant) and ``reference`` (the cells of the
    reference entry's default or tuned variant) columns, rows in legend order: the spec's entries, then
    other methods by strategy, variants from the fewest factors off the defaults, then by name."""
    cells = cells.reset_index(drop=True)
    params = [_params(row) for _, row in cells.iterrows()]
    tuned = [tuned_keys(m) for m in cells["manifest"]]
    keys = [method_key(s, p, spec) for s, p in zip(cells["strategy"], params, strict=True)]
    pinned = {key: p for key, _, p in spec.selectors()}
    parts, off = [None] * len(cells), [0] * len(cells)
    for (strategy, key), g in cells.groupby([cells["strategy"], [k or "" for k in keys]], sort=False):
        idx = list(g.index)
        labels, offs = _labels([strategy] * len(idx), [params[i] for i in idx], [tuned[i] for i in idx],
                               pinned.get(key, {}))
        for i, label, o in zip(idx, labels, offs, strict=True):
            parts[i], off[i] = label, o
    entries = list(spec.strategies)
    cells["method"] = [spec.entry(k).name if k else spec.display(s)
                       for k, s in zip(keys, cells["strategy"], strict=True)]
    cells["name"] = [m + (f" [{', '.join(p)}]" if p else "") for m, p in zip(cells["method"], parts, strict=True)]
    cells["_rank"] = [entries.index(k) if k else len(entries) for k in keys]
    cells["_off"] = off
    cells["_ref"] = [k == spec.reference for k in keys]
    cells["colour"] = [spec.entry(k).colour if k else colour(s, spec) for k, s in zip(keys, cells["strategy"],
                                                                                      strict=True)]
    cells = cells.sort_values(["_rank", "strategy", "_off", "name"], kind="stable")  # defaults first
    _style(cells)
    ref = cells[cells["_ref"]].sort_values("_off", kind="stable")
    cells["reference"] = cells["name"] == (ref["name"].iloc[0] if not ref.empty else None)
    return cells.drop(columns=["_rank", "_off", "_ref"])


def _style(cells) -> None:
    """Per method, its variants in legend order get shades of its ``colour`` and line styles (``dash``)."""
    colours, dashes = {}, {}
    for _, g in cells.groupby("method", sort=False):
        names = list(dict.fromkeys(g["name"]))
        for k, n in enumerate(names):
            colours[n] = _shade(g["colour"].iloc[0], k, len(names))
            dashes[n] = DASHES[k % len(DASHES)]
    cells["colour"] = cells["name"].map(colours)
    cells["dash"] = cells["name"].map(dashes)
