"""One function per paper figure. Each reads :class:`~nsr_bench.plots.data.Results` and a
:class:`~nsr_bench.plots.spec.FigureSpec`, writes ``<out>/<name>.pdf`` and ``.png`` and returns the PNG
path, or raises :class:`NoData` saying what the figure needs.

Seeds are the unit of replication: every band and error bar is the 95% Student-t interval of the mean
over seeds (:func:`nsr_bench.metrics.stats.t_interval`; a seed's several tasks or recurrences are
averaged first), and every figure states n and the method. The headline figures show the spec's
strategies under their display names and fixed colours, the reference drawn thicker.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from nsr_bench.metrics.stats import Interval, t_interval
from nsr_bench.outputs import OutputFolder
from nsr_bench.plots.data import Results, varies
from nsr_bench.plots.naming import fmt, name_cells, tuned_keys
from nsr_bench.plots.regret import delta_switch, slope_interval, split_seeds, theorem_line
from nsr_bench.plots.spec import FigureSpec, at_defaults, colour, display_name

METHOD = "95% t interval over seeds, clipped to the metric's range"
RANGES = {"acc": (0.0, 1.0), "acc_agnostic": (0.0, 1.0), "acc_val": (0.0, 1.0), "task_id_acc": (0.0, 1.0),
          "bwt": (-1.0, 1.0), "fwt": (-1.0, 1.0), "forgetting": (-1.0, 1.0),
          "recovery_steps_mean": (0.0, math.inf), "regret": (0.0, math.inf), "bank_mb_total": (0.0, math.inf),
          "memory_mb": (0.0, math.inf)}
"""Metric -> the values it can take: a drawn interval never leaves them."""


class NoData(Exception):
    """The results store holds nothing this figure can show."""


def _save(fig, out: OutputFolder, name: str) -> Path:
    import matplotlib.pyplot as plt

    try:
        for suffix, dpi in (("pdf", "figure"), ("png", 150)):
            with out.open(f"{name}.{suffix}") as f:
                fig.savefig(f, format=suffix, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out.path / f"{name}.png"


def _style():
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    return sns


def _n(frame) -> str:
    """``n = 5 seeds`` (or ``n = 3-5 seeds`` when strategies differ)."""
    counts = frame.groupby("name")["seed"].nunique() if "name" in frame else frame["seed"].nunique()
    lo, hi = int(np.min(counts)), int(np.max(counts))
    return f"n = {lo} seed{'s' if hi > 1 else ''}" if lo == hi else f"n = {lo}-{hi} seeds"


def headline(res: Results, spec: FigureSpec):
    """Every cell but the sweep trials, named by :func:`~nsr_bench.plots.naming.name_cells` (method and
    variant), the names in legend order, and the labels of the trials left out. A
    :class:`~nsr_bench.metrics.summary.SeedConflict` where a (stream, name) has two cells of one seed,
    which the figures would otherwise average into one."""
    from nsr_bench.metrics.summary import group

    cells = res.cells
    if cells.empty:
        return cells.copy(), [], []
    trial = _trials(cells)
    chosen = name_cells(cells[~trial], spec) if (~trial).any() else cells[~trial].copy()
    group((c["stream"], c["name"], c["seed"], c) for _, c in chosen.iterrows())
    names = list(dict.fromkeys(chosen["name"])) if not chosen.empty else []
    return chosen, names, list(dict.fromkeys(cells.loc[trial, "label"]))


def reference_name(cells) -> str | None:
    """The name of the reference variant among named ``cells`` (None when the store has none)."""
    ref = cells.loc[cells["reference"], "name"] if "reference" in cells else []
    return ref.iloc[0] if len(ref) else None


def _colours(cells, names: list[str]) -> list[str]:
    by_name = dict(zip(cells["name"], cells["colour"], strict=True))
    return [by_name[n] for n in names]


def _bold_reference(ax, reference: str | None) -> None:
    for text in [*ax.get_xticklabels(), *(ax.get_legend().get_texts() if ax.get_legend() else [])]:
        if text.get_text() in (reference, f"{reference} †"):
            text.set_fontweight("bold")


def interval(values: list[float], metric: str) -> Interval:
    """The 95% t interval of ``values`` clipped to ``metric``'s possible values (:data:`RANGES`)."""
    iv = t_interval(values)
    low, high = RANGES.get(metric, (-math.inf, math.inf))
    return replace(iv, low=min(max(iv.low, low), high), high=max(min(iv.high, high), low))


def _lines(ax, data, x: str, y: str, names: list[str], cells, marker: str | None = None) -> None:
    """Mean of ``y`` over seeds per ``x`` (each seed's rows averaged first) with a 95% t band, one line
    per name in its colour and line style (from the named ``cells``); the reference thicker."""
    style = {n: (c, d) for n, c, d in zip(cells["name"], cells["colour"], cells["dash"], strict=True)}
    for name in [n for n in names if (data["name"] == n).any()]:
        per_seed = data[data["name"] == name].groupby([x, "seed"])[y].mean().reset_index()
        xs = sorted(per_seed[x].unique())
        ivs = [interval(per_seed.loc[per_seed[x] == v, y].tolist(), y) for v in xs]
        ref = name == reference_name(cells)
        ax.plot(xs, [iv.mean for iv in ivs], color=style[name][0], ls=style[name][1], lw=2.8 if ref else 1.4,
                marker=marker, label=name, zorder=3 if ref else 2)
        ax.fill_between(xs, [iv.low for iv in ivs], [iv.high for iv in ivs], color=style[name][0],
                        alpha=0.15, lw=0)


def _bars(ax, data, y: str, names: list[str], colours: list[str], groups: list[str] | None = None,
          group_key: str = "stream") -> None:
    """One bar per name (and group, side by side, hatched apart) at the mean of ``y`` over seeds, with its
    95% t interval as the error bar."""
    groups = groups or [None]
    width = 0.8 / len(groups)
    hatches = ["", "//", "..", "xx", "\\\\"]
    for k, group in enumerate(groups):
        part = data if group is None else data[data[group_key] == group]
        ivs = [interval(part.loc[part["name"] == n, y].astype(float).tolist(), y) for n in names]
        xs = np.arange(len(names)) + (k - (len(groups) - 1) / 2) * width
        means = np.array([iv.mean for iv in ivs])
        err = np.array([[iv.mean - iv.low, iv.high - iv.mean] for iv in ivs]).T
        ax.bar(xs, means, width, color=colours, hatch=hatches[k % len(hatches)], edgecolor="white",
               label=group if group is not None else None)
        ax.errorbar(xs, means, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right")


def recovery_curves(res: Results, out: OutputFolder, spec: FigureSpec) -> Path:
    """Validation accuracy on a recurring task vs optimizer steps after its recurrence; one panel per
    (stream, recurrence), one line per strategy of the spec, 95% t bands over seeds."""
    _style()
    import matplotlib.pyplot as plt

    cells, names, _ = headline(res, spec)
    curves = res.curves
    if curves.empty or not (curves["recurrence"] > 0).any() or cells.empty:
        raise NoData("recovery curves need cells of the figure spec's strategies on a stream with recurring tasks")
    data = curves[curves["recurrence"] > 0].merge(cells[["hash", "name"]], on="hash")
    if data.empty:
        raise NoData("recovery curves need cells of the figure spec's strategies on a stream with recurring tasks")
    streams = sorted(data["stream"].unique())
    recurrences = sorted(data["recurrence"].unique())
    fig, axes = plt.subplots(len(streams), len(recurrences), figsize=(3.4 * len(recurrences), 3.0 * len(streams)),
                             squeeze=False, sharey=True, layout="constrained")
    for row, stream in zip(axes, streams, strict=True):
        for ax, r in zip(row, recurrences, strict=True):
            _lines(ax, data[(data["stream"] == stream) & (data["recurrence"] == r)], "step", "acc", names, cells)
            ax.set_title(f"{stream}: recurrence {r}", fontsize=8)
            ax.set_xlabel("optimizer steps after the recurrence")
        row[0].set_ylabel("validation accuracy on the task")
    for ax in axes.flat:
        if not ax.get_lines():
            ax.axis("off")  # a stream with fewer recurrences than another
    handles, names_drawn = axes[0][0].get_legend_handles_labels()
    legend = fig.legend(handles, names_drawn, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 0.95))
    for text in legend.get_texts():
        text.set_fontweight("bold" if text.get_text() == reference_name(cells) else "normal")
    fig.suptitle(f"mean and {METHOD} ({_n(data)}; a seed's tasks averaged first)", fontsize=9)
    return _save(fig, out, "recovery_curves")


def regret_vs_cycles(res: Results, out: OutputFolder, spec: FigureSpec) -> tuple[Path, dict[str, Interval]]:
    """Cumulative regret vs cycle T per strategy on the streams with the most cycles, and the Theorem-1
    line T(M-1)·Δ_switch with Δ_switch estimated on held-out cells: the memoryless (``memory_mb == 0``)
    cells of the largest seed, which the figure does not draw. Returns the fitted slopes per strategy
    (the 95% t interval of per-seed slopes)."""
    _style()
    import matplotlib.pyplot as plt
    import pandas as pd

    cells = res.cells
    if cells.empty or "regret_per_cycle" not in cells:
        raise NoData("regret needs finished cells")
    cycles = cells["regret_per_cycle"].map(lambda p: len(json.loads(p) if isinstance(p, str) else p))
    if cycles.max() < 2:
        raise NoData("regret vs cycles needs at least two cycles")
    longest = cells[cycles == cycles.max()]
    shown, names, _ = headline(Results(longest, res.accuracy, res.curves), spec)
    try:
        drawn, held = split_seeds(longest["seed"])
    except ValueError as exc:
        raise NoData(str(exc)) from None
    rows = [{"name": c["name"], "stream": c["stream"], "seed": c["seed"], "cycle": t, "regret": v}
            for _, c in shown[shown["seed"].isin(drawn)].iterrows()
            for t, v in enumerate(np.cumsum(json.loads(c["regret_per_cycle"]) if isinstance(
                c["regret_per_cycle"], str) else c["regret_per_cycle"]))]
    if not rows:
        raise NoData("regret vs cycles needs cells of the figure spec's strategies")
    data = pd.DataFrame(rows)
    streams = sorted(data["stream"].unique())
    fig, axes = plt.subplots(1, len(streams), figsize=(7 * len(streams), 4.2), squeeze=False)
    slopes: dict[str, Interval] = {}
    for ax, stream in zip(axes[0], streams, strict=True):
        part = data[data["stream"] == stream]
        for name in names:
            mine = part[part["name"] == name]
            curves = [g.sort_values("cycle")["regret"].tolist() for _, g in mine.groupby("seed")]
            if curves:
                slopes[name if len(streams) == 1 else f"{name} on {stream}"] = slope_interval(curves)
        _lines(ax, part, "cycle", "regret", names, shown, marker="o")
        for line in ax.get_lines():
            key = line.get_label() if len(streams) == 1 else f"{line.get_label()} on {stream}"
            iv = slopes[key]
            spread = f" ± {(iv.high - iv.low) / 2:.2f}" if iv.n >= 2 else " (n = 1: no interval)"
            line.set_label(f"{line.get_label()}: {iv.mean:.2f}{spread}/cycle")
        stream_cells = longest[longest["stream"] == stream]
        try:
            delta, used = delta_switch(stream_cells, held)
            m = max(len(set(t)) for t in stream_cells["stream_tasks"])
            t = np.arange(part["cycle"].max() + 1)
            ax.plot(t, theorem_line(t, m, delta), "k--",
                    label=f"T(M-1)·Δ_switch, Δ={delta:.2f} (held-out seed {held[0]}, {used} memoryless cells)")
        except ValueError as exc:
            ax.set_title(f"no Theorem-1 line: {exc}", fontsize=7)
        ax.set_xlabel(f"cycle T ({stream})")
        ax.set_ylabel("cumulative regret")
        ax.set_xticks(range(int(part["cycle"].max()) + 1))
        ax.legend(fontsize=7, title="slope: mean ± 95% t half-width over seeds", title_fontsize=7,
                  loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _bold_reference(ax, reference_name(shown))
    fig.suptitle(f"mean and {METHOD} ({_n(data)}: seeds {', '.join(map(str, drawn))}; seed {held[0]} held out "
                 f"for Δ_switch); {int(cycles.max())} cycles", fontsize=9)
    return _save(fig, out, "regret_vs_cycles"), slopes


def accuracy_matrices(res: Results, out: OutputFolder, spec: FigureSpec) -> Path:
    """R[i, j] heatmaps (training experience x task), oracle inference, first seed of each strategy of
    the spec, per stream."""
    sns = _style()
    import matplotlib.pyplot as plt

    cells, names, _ = headline(res, spec)
    acc = res.accuracy
    if acc.empty or cells.empty:
        raise NoData("accuracy matrices need finished cells of the figure spec's strategies")
    acc = acc[acc["mode"] == "oracle"].merge(cells[["hash", "name"]], on="hash")
    panels = [(s, n) for s in sorted(acc["stream"].unique()) for n in names if ((acc["stream"] == s)
                                                                               & (acc["name"] == n)).any()]
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (stream, name) in zip(axes.flat, panels, strict=False):
        g = acc[(acc["stream"] == stream) & (acc["name"] == name)]
        g = g[g["seed"] == g["seed"].min()]
        matrix = g.pivot_table(index="experience", columns="task", values="acc")
        sns.heatmap(matrix, vmin=0, vmax=1, cmap="viridis", ax=ax, cbar=False,
                    yticklabels=max(1, len(matrix) // 8))
        ax.set_title(f"{name}\n{stream} (seed {g['seed'].min()})", fontsize=8,
                     fontweight="bold" if name == reference_name(cells) else "normal")
        ax.set_xlabel("task j")
        ax.set_ylabel("after experience i")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("test accuracy R[i, j], one seed (n = 1, no interval)", fontsize=9)
    return _save(fig, out, "accuracy_matrices")


def metric_bars(res: Results, out: OutputFolder, spec: FigureSpec) -> Path:
    """ACC / BWT / forgetting per strategy of the spec (and stream) with 95% t intervals over seeds; *
    marks Holm-adjusted p < 0.05 in a paired t-test by seed against the reference."""
    _style()
    import matplotlib.pyplot as plt

    from nsr_bench.metrics.summary import comparisons, group, summarise

    cells, names, _ = headline(res, spec)
    if cells.empty:
        raise NoData("metric bars need finished cells of the figure spec's strategies")
    metrics = ["acc", "bwt", "forgetting"]
    streams = sorted(cells["stream"].unique())
    ref = reference_name(cells)
    rows = summarise(group((c["stream"], c["name"], c["seed"], c) for _, c in cells.iterrows()), ref,
                     metrics, compared=metrics)  # the summary table's paired tests and Holm adjustment
    adjusted = {(m, r.scenario, r.label): r.p_holm[m] for r in rows for m in r.tests}
    memory = cells.groupby("name")["memory_mb"].apply(lambda v: (v.astype(float) == 0).all())
    shown = [f"{n} †" if memory.get(n, False) else n for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(4.5 * 3, 4.2))
    for ax, metric in zip(axes, metrics, strict=True):
        data = cells.dropna(subset=[metric])
        _bars(ax, data, metric, names, _colours(cells, names), streams if len(streams) > 1 else None)
        ax.set_xticks(ax.get_xticks(), shown, rotation=35, ha="right")
        top = ax.get_ylim()[1]
        for i, name in enumerate(names):
            if any(adjusted.get((metric, s, name), 1.0) < 0.05 for s in streams):
                ax.text(i, top * 0.95, "*", ha="center", fontsize=14)
        ax.set_title(metric)
        if len(streams) > 1 and ax is axes[-1]:
            ax.legend(fontsize=7, title="stream")
        _bold_reference(ax, ref)
    fig.suptitle(f"mean and {METHOD} ({_n(cells)}); * Holm-adjusted p < 0.05 vs {ref} (paired t-test by seed, "
                 f"{comparisons(rows)} comparisons); † memoryless (memory_mb = 0)", fontsize=9)
    return _save(fig, out, "metric_bars")


def ablation(res: Results, out: OutputFolder, spec: FigureSpec) -> Path:
    """Bank on/off x allocation rule, as small multiples: recovery steps and ACC (rows) per distillation
    weight (columns); cells whose other varying parameters sit at their defaults."""
    _style()
    import matplotlib.pyplot as plt

    cells = res.cells
    if cells.empty or "param.bank" not in cells:
        raise NoData("the ablation needs cells of the allocation strategies (each rule with bank on/off)")
    data = cells.dropna(subset=["param.bank"])
    data = data[at_defaults(data, free=("bank", "distill_lambda")) & ~_trials(data)].copy()
    if data.empty:
        raise NoData("the ablation needs cells whose parameters other than bank and distill_lambda sit at "
                     "their spec's defaults (and tuned settings)")
    data["name"] = [display_name(s, spec) for s in data["strategy"]]
    data["Bank"] = data["param.bank"].map({True: "Bank on", False: "Bank off"})
    data["lambda"] = _distill_columns(data)
    lambdas = sorted(data["lambda"].unique(), key=lambda v: (v == "tuned", float(v) if v != "tuned" else 0))
    names = [n for n in dict.fromkeys(display_name(k, spec) for k in spec.strategies) if n in set(data["name"])]
    names += sorted(set(data["name"]) - set(names))
    colours = [colour(data.loc[data["name"] == n, "strategy"].iloc[0], spec) for n in names]
    metrics = ["recovery_steps_mean", "acc"]
    fig, axes = plt.subplots(len(metrics), len(lambdas), figsize=(5.5 * len(lambdas), 4.6 * len(metrics)),
                             squeeze=False, layout="constrained")
    for row, metric in zip(axes, metrics, strict=True):
        for ax, lam in zip(row, lambdas, strict=True):
            part = data[data["lambda"] == lam]
            groups = [g for g in ("Bank on", "Bank off") if (part["Bank"] == g).any()]
            _bars(ax, part.dropna(subset=[metric]), metric, names, colours, groups, group_key="Bank")
            ax.set_title(f"{metric}" + ("" if lam == "" else f", distill_lambda: {lam}"), fontsize=9)
            _bold_reference(ax, spec.reference_name())
    axes[0][-1].legend(fontsize=7, title="hatched: Bank off")
    fig.suptitle(f"mean and {METHOD} ({_n(data)}); rules at their defaults otherwise", fontsize=9)
    return _save(fig, out, "ablation")


def _trials(cells):
    """Boolean mask over ``cells``: the sweep trials (see :func:`nsr_bench.plots.data.load`)."""
    return cells["trial"] if "trial" in cells else cells["seed"] != cells["seed"]


def _distill_columns(data) -> list[str]:
    """The ablation's column per cell: its distillation weight to 3 significant digits, ``tuned`` where it
    is the spec's tuned setting (so tuned floats never make a column each), "" without one."""
    if "param.distill_lambda" not in data:
        return [""] * len(data)
    return ["tuned" if "distill_lambda" in tuned_keys(m) else ("" if v != v else fmt(float(v)))
            for v, m in zip(data["param.distill_lambda"], data["manifest"], strict=True)]


def cap_sweep(banked):
    """Per strategy, the Bank cells that differ in nothing but the cap K and span the most K values (in a
    one-at-a-time matrix such as ``matrices/memory_ablation.yaml``: the cap factor around its reference),
    so that cells varying energy, rank, dtype or thresholds do not pool into the K panels."""
    import pandas as pd

    kept = []
    for _, part in banked.groupby("strategy"):
        others = [c for c in part.columns if c.startswith("param.") and c != "param.cap" and varies(part[c])]
        key = part[others].apply(lambda row: repr(tuple(row)), axis=1) if others else pd.Series("", part.index)
        best = max(key.unique(), key=lambda k: (part.loc[key == k, "param.cap"].nunique(), (key == k).sum()))
        kept.append(part[key == best])
    return pd.concat(kept) if kept else banked


def memory_budget(res: Results, out: OutputFolder, spec: FigureSpec) -> Path:
    """Bank MB vs retention cap K, recovery of recurrences whose entry was recalled vs not (per K), and the
    memory each strategy of the spec keeps (``memory_mb``: 0 only for the memoryless ones). The K panels
    use :func:`cap_sweep`'s cells."""
    _style()
    import matplotlib.pyplot as plt
    import pandas as pd

    cells = res.cells
    if cells.empty or "param.cap" not in cells or "bank_mb_total" not in cells:
        raise NoData("the memory figure needs cells with a Bank")
    banked = cap_sweep(cells[(cells["bank_mb_total"].fillna(0) > 0)]).copy()
    if banked.empty:
        raise NoData("the memory figure needs cells with the Bank on")
    banked["name"] = [display_name(s, spec) for s in banked["strategy"]]
    streams = sorted(banked["stream"].unique())
    rows = []
    for _, c in banked.iterrows():
        decisions = {d["experience"]: d for d in c["manifest"].get("decisions", [])}
        for r in c["manifest"].get("recovery", []):
            d = decisions.get(r["experience"], {})
            retained = d.get("action") == "recall" and any(r["task"] in t for t in d.get("entry_tasks", []))
            rows.append({"cap K": c["param.cap"], "seed": c["seed"], "recovery steps": r["steps"],
                         "entry": "recalled" if retained else "not recalled"})
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    several = banked["stream"].nunique() > 1
    for (name, stream), part in banked.groupby(["name", "stream"]):
        ks = sorted(part["param.cap"].unique())
        ivs = [interval(part.loc[part["param.cap"] == k, "bank_mb_total"].tolist(), "bank_mb_total") for k in ks]
        axes[0].errorbar(ks, [iv.mean for iv in ivs], yerr=np.nan_to_num([[iv.mean - iv.low for iv in ivs],
                         [iv.high - iv.mean for iv in ivs]]), marker="o", capsize=3,
                         color=colour(part["strategy"].iloc[0], spec),
                         ls="--" if several and stream != streams[0] else "-",
                         label=f"{name}{f' on {stream}' if several else ''} ({_n(part)})")
    axes[0].set_xlabel("retention cap K")
    axes[0].set_ylabel("Bank MB (total)")
    axes[0].legend(fontsize=7)
    if rows:
        recov = pd.DataFrame(rows).groupby(["cap K", "entry", "seed"])["recovery steps"].mean().reset_index()
        recov["name"] = [f"K={k}" for k in recov["cap K"]]
        ks = [f"K={k}" for k in sorted(recov["cap K"].unique())]
        _bars(axes[1], recov, "recovery steps", ks, ["#4c72b0"] * len(ks), ["recalled", "not recalled"], "entry")
        axes[1].set_xticks(np.arange(len(ks)), ks, rotation=0)
        axes[1].set_ylabel("recovery steps")
        axes[1].legend(fontsize=7, title="the task's entry (hatched: not recalled)", title_fontsize=8,
                       loc="upper right")
    axes[1].set_title(f"recovery of recurring tasks ({_n(recov) if rows else 'no recurrences'})", fontsize=9)
    chosen, names, _ = headline(res, spec)
    if not chosen.empty:
        groups = sorted(chosen["stream"].unique())
        _bars(axes[2], chosen, "memory_mb", names, _colours(chosen, names),
              groups if len(groups) > 1 else None)
        if len(groups) > 1:
            axes[2].legend(fontsize=7, title="stream")
        _bold_reference(axes[2], reference_name(chosen))
    else:
        axes[2].set_axis_off()
        axes[2].text(0.5, 0.5, "no cells of the figure spec's strategies\nat their spec settings in this store",
                     ha="center", va="center", fontsize=9)
    axes[2].set_ylabel("memory kept (MB)")
    fig.suptitle(f"mean and {METHOD}; Bank cells that differ only in the cap K", fontsize=9)
    return _save(fig, out, "memory_budget")


def optuna_study(study, out: OutputFolder) -> Path:
    """Optimisation history and parameter importances of one sweep."""
    _style()
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if len(done) < 2 or len(study.directions) > 1:
        raise NoData(f"study {study.study_name}: needs 2+ completed single-objective trials")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    values = [t.value for t in done]
    axes[0].plot([t.number for t in done], values, "o", label="trial")
    best = np.minimum if study.direction == optuna.study.StudyDirection.MINIMIZE else np.maximum
    axes[0].plot([t.number for t in done], best.accumulate(values), "-", label="best so far")
    axes[0].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("objective")
    axes[0].legend()
    try:
        importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        importance = {}
    axes[1].barh(list(importance), list(importance.values()))
    axes[1].set_xlabel("importance (fANOVA)")
    fig.suptitle(f"{study.study_name}: {len(done)} trials, one seed each (no interval)", fontsize=9)
    return _save(fig, out, f"optuna_{study.study_name}")
