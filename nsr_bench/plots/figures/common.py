"""What every figure shares: the cells it shows (:func:`headline`), the printed names of metrics and streams,
intervals clipped to a metric's range, the caption's statement of n and method, and drawing lines and bars
in the methods' colours (:mod:`nsr_bench.plots.style`).

Seeds are the unit of replication: every band and error bar is the 95% Student-t interval of the mean over
seeds (:func:`nsr_bench.metrics.stats.t_interval`; a seed's several tasks or recurrences are averaged first);
with one seed there is none.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nsr_bench.config import parse_selector
from nsr_bench.metrics.stats import Interval, clipped, t_interval
from nsr_bench.plots import style
from nsr_bench.plots.naming import name_cells

METHOD = "95% t interval over seeds, clipped to the metric's range"

METRICS = {"acc": "Accuracy (ACC)", "acc_agnostic": "Task-agnostic accuracy", "acc_val": "Validation accuracy",
           "task_id_acc": "Task-id accuracy", "bwt": "Backward transfer (BWT)", "fwt": "Forward transfer (FWT)",
           "forgetting": "Forgetting", "recovery_steps_mean": "Recovery steps", "regret": "Cumulative regret",
           "bank_mb_total": "Bank size (MB)", "memory_mb": "Memory kept (MB)"}
"""Metric key -> the name an axis or title prints."""

SCENARIOS = {"digits_cyclic": "Digits (cyclic)", "five_datasets": "5-Datasets",
             "five_datasets_cyclic": "5-Datasets (cyclic)", "five_datasets_offline": "5-Datasets (offline)",
             "five_datasets_offline_cyclic": "5-Datasets (offline, cyclic)",
             "split_cifar100_cyclic": "Split CIFAR-100 (cyclic)",
             "split_cifar10_cyclic": "Split CIFAR-10 (cyclic)",
             "split_gtsrb_cyclic": "Split GTSRB (cyclic)"}
"""Scenario key -> the name a title prints."""
MEMORYLESS = " †"
"""Marks a memoryless method's name (:func:`memoryless`)."""


class NoData(Exception):
    """The results store holds nothing this figure can show."""


def metric_name(key: str) -> str:
    """The printed name of a metric (:data:`METRICS`; an unknown key with its underscores as spaces)."""
    return METRICS.get(key, key.replace("_", " ").capitalize())


def stream_name(stream: str) -> str:
    """The printed name of a stream: ``digits_cyclic[cycles=6]`` -> ``Digits (cyclic), cycles = 6``."""
    scenario, params = parse_selector(stream)
    name = SCENARIOS.get(scenario, scenario.replace("_", " ").capitalize())
    return ", ".join([name, *(f"{k.replace('_', ' ')} = {v}" for k, v in params.items())])


def headline(res, spec):
    """Every cell but the sweep trials, named by :func:`~nsr_bench.plots.naming.name_cells` (method and
    variant), the names in legend order, and the labels of the trials left out. A
    :class:`~nsr_bench.metrics.summary.SeedConflict` where a (stream, name) has two cells of one seed,
    which the figures would otherwise average into one."""
    from nsr_bench.metrics.summary import group

    cells = res.cells
    if cells.empty:
        return cells.copy(), [], []
    trial = trials(cells)
    chosen = name_cells(cells[~trial], spec) if (~trial).any() else cells[~trial].copy()
    group((c["stream"], c["name"], c["seed"], c) for _, c in chosen.iterrows())
    names = list(dict.fromkeys(chosen["name"])) if not chosen.empty else []
    return chosen, names, list(dict.fromkeys(cells.loc[trial, "label"]))


def per_stream(cells, names: list[str]) -> dict[str, list[str]]:
    """Stream -> the ``names`` (in their order) that have cells on it: a stream's panels show only those."""
    return {s: [n for n in names if (part["name"] == n).any()] for s, part in cells.groupby("stream")}


def reference_name(cells) -> str | None:
    """The name of the reference variant among named ``cells`` (None when the store has none)."""
    ref = cells.loc[cells["reference"], "name"] if "reference" in cells else []
    return ref.iloc[0] if len(ref) else None


def trials(cells):
    """Boolean mask over ``cells``: the sweep trials (see :func:`nsr_bench.plots.data.load`)."""
    return cells["trial"] if "trial" in cells else cells["seed"] != cells["seed"]


def colours(cells, names: list[str]) -> list[str]:
    """The colour of each of ``names`` among named ``cells``."""
    by_name = dict(zip(cells["name"], cells["colour"], strict=True))
    return [by_name[n] for n in names]


def memoryless(cells, names: list[str]) -> list[str]:
    """``names`` as tick labels, ``name †`` for the methods that keep no memory (``memory_mb`` 0)."""
    none = cells.groupby("name")["memory_mb"].apply(lambda v: (v.astype(float) == 0).all())
    return [f"{n}{MEMORYLESS}" if none.get(n, False) else n for n in names]


def bold_reference(texts, cells) -> None:
    """Set the tick labels or legend entries among ``texts`` that name the reference of ``cells`` in bold."""
    ref = reference_name(cells)
    style.bold(texts, {ref, f"{ref}{MEMORYLESS}"})


def interval(values: list[float], metric: str) -> Interval:
    """The 95% t interval of ``values`` clipped to ``metric``'s possible values (:data:`RANGES`)."""
    return clipped(t_interval(values), metric)


def seeds(frame, by: str = "name") -> list[int]:
    """How many seeds each ``by`` group of ``frame`` has."""
    return [int(v) for v in frame.groupby(by)["seed"].nunique()] if by in frame else [frame["seed"].nunique()]


def n_caption(counts: Iterable[int]) -> str:
    """The caption's n and interval: ``n = 3 seeds; 95% t interval ...``, ``n = 1: no interval``."""
    counts = list(counts)
    lo, hi = min(counts), max(counts)
    if hi < 2:
        return "n = 1: no interval (one seed)"
    n = f"n = {lo} seeds" if lo == hi else f"n = {lo}-{hi} seeds"
    return f"{n}; mean and {METHOD}" + ("; n = 1: no interval" if lo < 2 else "")


def left_out(what: str, items: list[str], limit: int = 6) -> str:
    """``Left out: 3 sweep trials (a, b, c).`` ("" when there are none)."""
    if not items:
        return ""
    shown = ", ".join(items[:limit]) + (", ..." if len(items) > limit else "")
    return f" Left out: {len(items)} {what} ({shown})."


def lines(ax, data, x: str, y: str, names: list[str], cells, marker: str | None = None) -> None:
    """Mean of ``y`` over seeds per ``x`` (each seed's rows averaged first), one line per name in its colour
    and line style (from the named ``cells``), the reference thicker; a 95% t band where 2+ seeds have
    the point, none at n = 1."""
    look = {n: (c, d) for n, c, d in zip(cells["name"], cells["colour"], cells["dash"], strict=True)}
    for name in [n for n in names if (data["name"] == n).any()]:
        per_seed = data[data["name"] == name].groupby([x, "seed"])[y].mean().reset_index()
        xs = sorted(per_seed[x].unique())
        ivs = [interval(per_seed.loc[per_seed[x] == v, y].tolist(), y) for v in xs]
        ref = name == reference_name(cells)
        ax.plot(xs, [iv.mean for iv in ivs], color=look[name][0], ls=look[name][1],
                lw=style.REFERENCE_LINE if ref else style.LINE, marker=marker, label=name, zorder=3 if ref else 2)
        banded = [iv.n >= 2 for iv in ivs]
        if any(banded):
            ax.fill_between(xs, [iv.low for iv in ivs], [iv.high for iv in ivs], where=banded,
                            color=look[name][0], alpha=min(0.2, 0.6 / len(names)), lw=0)  # light when many


def bars(ax, data, y: str, names: list[str], colours: list[str], groups: list[str] | None = None,
         group_key: str = "stream", horizontal: bool = True) -> None:
    """One bar per name (and group, side by side: filled, outlined, ... per :data:`style.GROUPS`) at the
    mean of ``y`` over seeds, names top to bottom (``horizontal``) or left to right, with the 95% t interval
    as the error bar where 2+ seeds have it (none at n = 1)."""
    groups = groups or [None]
    width = 0.8 / len(groups)
    at = np.arange(len(names))
    for k, group in enumerate(groups):
        part = data if group is None else data[data[group_key] == group]
        ivs = [interval(part.loc[part["name"] == n, y].astype(float).tolist(), y) for n in names]
        pos = at + (k - (len(groups) - 1) / 2) * width
        means = np.array([iv.mean for iv in ivs])
        look = style.GROUPS[k % len(style.GROUPS)]
        face = colours if look["filled"] else "white"
        draw = ax.barh if horizontal else ax.bar
        draw(pos, means, width * 0.92, color=face, edgecolor=colours, hatch=look["hatch"],
             label=group)
        shown = [i for i, iv in enumerate(ivs) if iv.n >= 2]
        if shown:
            err = np.array([[ivs[i].mean - ivs[i].low, ivs[i].high - ivs[i].mean] for i in shown]).T
            where = {"xerr" if horizontal else "yerr": err}
            ax.errorbar(*((means[shown], pos[shown]) if horizontal else (pos[shown], means[shown])), **where,
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    if horizontal:
        ax.set_yticks(at, names)
        ax.set_ylim(len(names) - 0.5, -0.5)  # the first name on top
        ax.grid(axis="y", visible=False)
    else:
        ax.set_xticks(at, names)
        ax.grid(axis="x", visible=False)
