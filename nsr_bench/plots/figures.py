"""One function per paper figure. Each reads :class:`~nsr_bench.plots.data.Results`, writes
``<out>/<name>.pdf`` and ``.png`` and returns the PNG path, or raises :class:`NoData` saying what
the figure needs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nsr_bench.plots.data import Results
from nsr_bench.plots.regret import fit_slope, theorem_line


class NoData(Exception):
    """The results store holds nothing this figure can show."""


def _save(fig, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.pdf", bbox_inches="tight")
    fig.savefig(out / f"{name}.png", dpi=150, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out / f"{name}.png"


def _style():
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    return sns


def recovery_curves(res: Results, out: Path) -> Path:
    """Accuracy on a recurring task vs optimizer steps after its recurrence; one panel per
    recurrence, one line per strategy, 95% bands over seeds and tasks."""
    sns = _style()
    curves = res.curves
    if curves.empty or not (curves["recurrence"] > 0).any():
        raise NoData("recovery curves need cells on a stream with recurring tasks")
    data = curves[curves["recurrence"] > 0]
    grid = sns.relplot(data=data, x="step", y="acc", hue="label", col="recurrence", kind="line",
                       errorbar=("ci", 95), height=3.2, aspect=1.2, facet_kws={"sharey": True})
    grid.set_axis_labels("optimizer steps after the recurrence", "test accuracy on the task")
    grid.set_titles("recurrence {col_name}")
    return _save(grid.figure, out, "recovery_curves")


def regret_vs_cycles(res: Results, out: Path) -> tuple[Path, dict[str, float]]:
    """Cumulative regret vs cycle T per strategy, with the Theorem-1 line T(M-1)·Δ_switch
    (Δ_switch measured on the memoryless strategies: those keeping 0 bytes, ``memory_mb == 0``); returns the
    fitted slopes per strategy."""
    sns = _style()
    import matplotlib.pyplot as plt
    import pandas as pd

    cells = res.cells
    if cells.empty or "regret_per_cycle" not in cells:
        raise NoData("regret needs finished cells")
    rows = []
    for _, c in cells.iterrows():
        per = c["regret_per_cycle"]
        per = json.loads(per) if isinstance(per, str) else per
        for t, value in enumerate(np.cumsum(per)):
            rows.append({"label": c["label"], "seed": c["seed"], "cycle": t, "cumulative regret": value,
                         "tasks": len(set(c["stream_tasks"]))})
    data = pd.DataFrame(rows)
    if data["cycle"].max() < 1:
        raise NoData("regret vs cycles needs at least two cycles")
    slopes = {s: fit_slope(g["cycle"].to_numpy(), g["cumulative regret"].to_numpy())
              for s, g in data.groupby("label")}
    data["label"] = [f"{label} ({slopes[label]:.2f}/cycle)" for label in data["label"]]
    fig, ax = plt.subplots(figsize=(6 + 0.25 * len(slopes), 4))
    sns.lineplot(data=data, x="cycle", y="cumulative regret", hue="label", marker="o", errorbar=("ci", 95),
                 ax=ax)
    memoryless = cells[cells["memory_mb"].astype(float) == 0]
    if not memoryless.empty:
        m = int(data["tasks"].max())
        per_cycle = [json.loads(p)[1:] if isinstance(p, str) else p[1:] for p in memoryless["regret_per_cycle"]]
        delta = float(np.mean([v for p in per_cycle for v in p])) / max(m - 1, 1) if per_cycle else 0.0
        t = np.arange(data["cycle"].max() + 1)
        ax.plot(t, theorem_line(t, m, delta), "k--", label=f"T(M-1)·Δ_switch, Δ={delta:.2f}")
    ax.set_xlabel("cycle T")
    ax.set_xticks(range(int(data["cycle"].max()) + 1))
    ax.legend(fontsize=7, title="fitted slope", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out, "regret_vs_cycles"), slopes


def accuracy_matrices(res: Results, out: Path) -> Path:
    """R[i, j] heatmaps (training experience x task), oracle inference, first seed of each strategy."""
    sns = _style()
    import matplotlib.pyplot as plt

    acc = res.accuracy
    if acc.empty:
        raise NoData("accuracy matrices need finished cells")
    acc = acc[acc["mode"] == "oracle"]
    panels = acc.groupby(["scenario", "label"])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, ((scenario, strategy), g) in zip(axes[0], panels, strict=True):
        g = g[g["seed"] == g["seed"].min()]
        matrix = g.pivot_table(index="experience", columns="task", values="acc")
        sns.heatmap(matrix, vmin=0, vmax=1, cmap="viridis", ax=ax, cbar=ax is axes[0][-1],
                    yticklabels=max(1, len(matrix) // 8))
        ax.set_title(f"{strategy}\n{scenario}", fontsize=9)
        ax.set_xlabel("task j")
        ax.set_ylabel("after experience i")
    return _save(fig, out, "accuracy_matrices")


def paired_p(a: dict[int, float], b: dict[int, float]) -> float | None:
    """Paired t-test p-value over the seeds both have (None below 2 pairs)."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    x, y = [a[s] for s in seeds], [b[s] for s in seeds]
    if np.allclose(np.subtract(x, y), 0):
        return 1.0
    return float(stats.ttest_rel(x, y).pvalue)


def metric_bars(res: Results, out: Path, reference: str = "nsr") -> Path:
    """ACC / BWT / forgetting per strategy and scenario with 95% CIs over seeds; * marks p < 0.05
    in a paired t-test against ``reference`` on the same seeds."""
    sns = _style()
    import matplotlib.pyplot as plt

    cells = res.cells
    if cells.empty:
        raise NoData("metric bars need finished cells")
    metrics = ["acc", "bwt", "forgetting"]
    memory = cells["memory_mb"].astype(float)  # NaN (unknown memory) is never memoryless
    memoryless = set(cells.loc[memory == 0, "label"]) - set(cells.loc[memory != 0, "label"])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, metric in zip(axes, metrics, strict=True):
        data = cells.dropna(subset=[metric])
        several = data["scenario"].nunique() > 1
        sns.barplot(data=data, x="label", y=metric, hue="scenario" if several else None, errorbar=("ci", 95),
                    ax=ax, legend=several and ax is axes[-1])
        ax.tick_params(axis="x", rotation=60)
        for i, strategy in enumerate(ax.get_xticklabels()):
            name = strategy.get_text()
            significant = False
            for _, g in data.groupby("scenario"):
                ref = g[g["label"] == reference].set_index("seed")[metric].to_dict()
                this = g[g["label"] == name].set_index("seed")[metric].to_dict()
                p = paired_p(this, ref) if name != reference else None
                significant |= p is not None and p < 0.05
            if significant:
                ax.text(i, ax.get_ylim()[1] * 0.95, "*", ha="center", fontsize=14)
        ax.set_xticks(ax.get_xticks(), [f"{t.get_text()} †" if t.get_text() in memoryless else t.get_text()
                                        for t in ax.get_xticklabels()])
        ax.set_xlabel("")
    fig.suptitle(f"mean and 95% CI over seeds; * p<0.05 vs {reference} (paired t-test); "
                 "† memoryless (memory_mb = 0)", fontsize=9)
    return _save(fig, out, "metric_bars")


def ablation(res: Results, out: Path) -> Path:
    """Bank on/off x allocation rule: recovery steps and ACC (cells of the adapter strategies)."""
    sns = _style()
    import matplotlib.pyplot as plt

    cells = res.cells
    if cells.empty or "param.bank" not in cells:
        raise NoData("the ablation needs cells of the allocation strategies (each rule with bank on/off)")
    data = cells.dropna(subset=["param.bank"]).copy()
    data["Bank"] = data["param.bank"].map({True: "on", False: "off"})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ["recovery_steps_mean", "acc"], strict=True):
        sns.barplot(data=data, x="strategy", y=metric, hue="Bank", hue_order=["on", "off"], errorbar=("ci", 95),
                    ax=ax)
        ax.set_xlabel("allocation rule")
        ax.tick_params(axis="x", rotation=30)
    return _save(fig, out, "ablation")


def memory_budget(res: Results, out: Path) -> Path:
    """Bank MB vs retention cap K, recovery of recurrences whose entry was retained vs not, and the memory
    every strategy keeps (``memory_mb``: 0 only for the memoryless ones)."""
    sns = _style()
    import matplotlib.pyplot as plt
    import pandas as pd

    cells = res.cells
    if cells.empty or "param.cap" not in cells:
        raise NoData("the memory figure needs cells with a Bank")
    banked = cells[cells["bank_mb_total"] > 0]
    if banked.empty:
        raise NoData("the memory figure needs cells with the Bank on")
    rows = []
    for _, c in banked.iterrows():
        decisions = {d["experience"]: d for d in c["manifest"].get("decisions", [])}
        for r in c["manifest"].get("recovery", []):
            d = decisions.get(r["experience"], {})
            retained = d.get("action") == "recall" and any(r["task"] in t for t in d.get("entry_tasks", []))
            rows.append({"cap K": c["param.cap"], "entry": "recalled" if retained else "not recalled",
                         "recovery steps": r["steps"]})
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    sns.pointplot(data=banked, x="param.cap", y="bank_mb_total", hue="label", errorbar=("ci", 95), ax=axes[0])
    axes[0].set_xlabel("retention cap K")
    axes[0].set_ylabel("Bank MB (total)")
    if rows:
        sns.barplot(data=pd.DataFrame(rows), x="cap K", y="recovery steps", hue="entry", errorbar=("ci", 95),
                    ax=axes[1])
    axes[1].set_title("recovery of recurring tasks", fontsize=9)
    sns.barplot(data=cells, x="label", y="memory_mb", errorbar=("ci", 95), ax=axes[2])
    axes[2].set_xlabel("")
    axes[2].set_ylabel("memory kept (MB)")
    axes[2].tick_params(axis="x", rotation=60)
    return _save(fig, out, "memory_budget")


def optuna_study(study, out: Path) -> Path:
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
    axes[0].plot([t.number for t in done], np.maximum.accumulate(values), "-", label="best so far")
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("objective")
    axes[0].legend()
    try:
        importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        importance = {}
    axes[1].barh(list(importance), list(importance.values()))
    axes[1].set_xlabel("importance (fANOVA)")
    fig.suptitle(study.study_name, fontsize=9)
    return _save(fig, out, f"optuna_{study.study_name}")
