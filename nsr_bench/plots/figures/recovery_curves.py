"""Recovery after a recurrence: validation accuracy on the recurring task vs optimizer steps."""

from __future__ import annotations

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
    reference_name,
    seeds,
    stream_name,
)
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec

TITLE = "Recovery after a task recurs"
COLS = 3


def recovery_curves(res: Results, out: OutputFolder, spec: FigureSpec) -> Rendered:
    """One panel per (stream, recurrence) that has data, one line per method of the spec."""
    cells, names, trials = headline(res, spec)
    curves = res.curves
    data = curves if curves.empty or cells.empty else \
        curves[curves["recurrence"] > 0].merge(cells[["hash", "name"]], on="hash")
    if cells.empty or data.empty:
        raise NoData("recovery curves need cells of the figure spec's strategies on a stream with recurring tasks")
    panels = list(data[["stream", "recurrence"]].drop_duplicates().sort_values(["stream", "recurrence"])
                  .itertuples(index=False, name=None))
    cols = min(COLS, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = style.subplots(rows, cols, sharey=True)
    several = data["stream"].nunique() > 1
    for i, (ax, (stream, r)) in enumerate(zip(axes.flat, panels, strict=False)):
        lines(ax, data[(data["stream"] == stream) & (data["recurrence"] == r)], "step", "acc", names, cells)
        ax.set_title(style.wrap(f"{stream_name(stream)}: recurrence {r}", cols) if several else f"Recurrence {r}")
        ax.set_xlabel("Steps after the recurrence" if i + cols >= len(panels) else "")
        ax.set_ylim(0, 1)
    for ax in axes.flat[len(panels):]:
        ax.remove()
    for row in axes:
        row[0].set_ylabel("Validation accuracy")
    bold_reference(style.legend_below(fig, *style.entries(fig.axes)).get_texts(), cells)
    caption = (f"Validation accuracy on a recurring task against optimizer steps after it recurs, one panel per "
               f"recurrence{' and stream' if several else ' of ' + stream_name(panels[0][0])}; "
               f"{n_caption(seeds(data))} (a seed's tasks averaged first); the reference "
               f"{reference_name(cells) or spec.reference_name()} drawn thicker."
               + left_out("sweep trials", trials))
    return Rendered(style.save(fig, out, "recovery_curves"), TITLE, caption)
