"""Cumulative regret vs cycle, with Theorem 1's line for a memoryless policy."""

from __future__ import annotations

import json

import numpy as np

from nsr_bench.metrics.stats import Interval
from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results
from nsr_bench.plots.figures.common import (
    NoData,
    bold_reference,
    headline,
    left_out,
    lines,
    n_caption,
    seeds,
    stream_name,
)
from nsr_bench.plots.regret import delta_switch, slope_interval, split_seeds, theorem_line
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec

TITLE = "Cumulative regret over cycles"
THEOREM = r"Theorem 1: $T(M-1)\,\Delta_\mathrm{switch}$"


def _per_cycle(value) -> list[float]:
    return json.loads(value) if isinstance(value, str) else list(value)


def _slope(iv: Interval) -> str:
    return f"{iv.mean:.2f} ± {(iv.high - iv.low) / 2:.2f}" if iv.n >= 2 else f"{iv.mean:.2f} (n = 1: no interval)"


def regret_vs_cycles(res: Results, out: OutputFolder, spec: FigureSpec) -> tuple[Rendered, dict[str, Interval]]:
    """Cumulative regret vs cycle T per method of the spec on the streams with the most cycles, and the
    Theorem-1 line T(M-1)·Δ_switch with Δ_switch estimated on held-out cells: the memoryless
    (``memory_mb == 0``) cells of the largest seed, which the figure does not draw. Also returns the
    fitted slopes per method (the 95% t interval of per-seed slopes)."""
    import pandas as pd

    cells = res.cells
    if cells.empty or "regret_per_cycle" not in cells:
        raise NoData("regret needs finished cells")
    cycles = cells["regret_per_cycle"].map(lambda p: len(_per_cycle(p)))
    if cycles.max() < 2:
        raise NoData("regret vs cycles needs at least two cycles")
    longest = cells[cycles == cycles.max()]
    shown, names, trials = headline(Results(longest, res.accuracy, res.curves), spec)
    try:
        drawn, held = split_seeds(longest["seed"])
    except ValueError as exc:
        raise NoData(str(exc)) from None
    rows = [{"name": c["name"], "stream": c["stream"], "seed": c["seed"], "cycle": t, "regret": v}
            for _, c in shown[shown["seed"].isin(drawn)].iterrows()
            for t, v in enumerate(np.cumsum(_per_cycle(c["regret_per_cycle"])))]
    if not rows:
        raise NoData("regret vs cycles needs cells of the figure spec's strategies")
    data = pd.DataFrame(rows)
    streams = sorted(data["stream"].unique())
    fig, axes = style.subplots(1, len(streams))
    slopes: dict[str, Interval] = {}
    theorem = []
    for ax, stream in zip(axes[0], streams, strict=True):
        part = data[data["stream"] == stream]
        for name in names:
            mine = part[part["name"] == name]
            curves = [g.sort_values("cycle")["regret"].tolist() for _, g in mine.groupby("seed")]
            if curves:
                slopes[name if len(streams) == 1 else f"{name} on {stream}"] = slope_interval(curves)
        lines(ax, part, "cycle", "regret", names, shown, marker="o")
        stream_cells = longest[longest["stream"] == stream]
        try:
            delta, used = delta_switch(stream_cells, held)
            m = max(len(set(t)) for t in stream_cells["stream_tasks"])
            t = np.arange(part["cycle"].max() + 1)
            ax.plot(t, theorem_line(t, m, delta), color="black", ls=(0, (4, 2)), lw=style.LINE, label=THEOREM)
            theorem.append(f"{stream_name(stream)}: M = {m}, Δ_switch = {delta:.2f} from {used} memoryless cells")
        except ValueError as exc:
            theorem.append(f"{stream_name(stream)}: no Theorem-1 line ({exc})")
        ax.set_xlabel("Cycle T")
        ax.set_xticks(range(int(part["cycle"].max()) + 1))
        if len(streams) > 1:
            ax.set_title(style.wrap(stream_name(stream), len(streams)))
    axes[0][0].set_ylabel("Cumulative regret")
    bold_reference(style.legend_below(fig, *style.entries(fig.axes)).get_texts(), shown)
    caption = (f"Cumulative regret against cycle T on the stream{'s' if len(streams) > 1 else ''} with the most "
               f"cycles ({int(cycles.max())}), seeds {', '.join(map(str, drawn))}; {n_caption(seeds(data))}. "
               f"The dashed black line is Theorem 1's lower bound for a memoryless policy, Δ_switch estimated on "
               f"held-out seed {held[0]} ({'; '.join(theorem)}). Slopes per cycle (mean ± 95% t half-width over "
               f"seeds of per-seed least-squares slopes): "
               + "; ".join(f"{k} {_slope(v)}" for k, v in slopes.items()) + "."
               + left_out("sweep trials", trials))
    return Rendered(style.save(fig, out, "regret_vs_cycles"), TITLE, caption), slopes
