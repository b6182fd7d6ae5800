"""ACC, BWT and forgetting per method, with paired tests against the reference."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results
from nsr_bench.plots.figures.common import (
    NoData,
    bars,
    bold_reference,
    colours,
    headline,
    left_out,
    memoryless,
    metric_name,
    n_caption,
    per_stream,
    reference_name,
    seeds,
    stream_name,
)
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec

TITLE = "Accuracy, backward transfer and forgetting"
METRICS = ("acc", "bwt", "forgetting")


def metric_bars(res: Results, out: OutputFolder, spec: FigureSpec) -> Rendered:
    """One panel per (stream, metric), one bar per method of the spec; the methods whose difference from the
    reference is Holm-adjusted p < 0.05 in a paired t-test by seed are named in the caption."""
    from nsr_bench.metrics.summary import comparisons, group, summarise

    cells, names, trials = headline(res, spec)
    if cells.empty:
        raise NoData("metric bars need finished cells of the figure spec's strategies")
    metrics = list(METRICS)
    streams = sorted(cells["stream"].unique())
    ref = reference_name(cells)
    rows = summarise(group((c["stream"], c["name"], c["seed"], c) for _, c in cells.iterrows()), ref,
                     metrics, compared=metrics)  # the summary table's paired tests and Holm adjustment
    drawn = per_stream(cells, names)
    heights = [style.BAR_HEIGHT * len(drawn[s]) + 0.55 + 0.2 * (len(streams) > 1) for s in streams]
    fig, axes = style.rows(heights, [len(metrics)] * len(streams),
                           [stream_name(s) for s in streams] if len(streams) > 1 else None, sharey=True)
    for row, stream in zip(axes, streams, strict=True):
        part = cells[cells["stream"] == stream]
        for ax, metric in zip(row, metrics, strict=True):
            bars(ax, part.dropna(subset=[metric]), metric, drawn[stream], colours(cells, drawn[stream]))
            ax.set_yticks(ax.get_yticks(), memoryless(cells, drawn[stream]))
            ax.axvline(0, color="#333333", lw=0.6)
            ax.set_title(metric_name(metric))
        bold_reference(row[0].get_yticklabels(), cells)
    significant = [f"{r.label} ({', '.join(metric_name(m) for m in metrics if r.p_holm.get(m, 1.0) < 0.05)}"
                   + (f", {stream_name(r.scenario)})" if len(streams) > 1 else ")")
                   for r in rows if any(r.p_holm.get(m, 1.0) < 0.05 for m in metrics)]
    caption = (f"Mean accuracy (ACC), backward transfer (BWT) and forgetting per method"
               f"{'' if len(streams) > 1 else ' on ' + stream_name(streams[0])}; {n_caption(seeds(cells))}. "
               f"Differing from {ref} at Holm-adjusted p < 0.05 (paired t-test by seed, {comparisons(rows)} "
               f"comparisons): {'; '.join(significant) or 'none'}. †: memoryless (keeps 0 MB)."
               + left_out("sweep trials", trials))
    return Rendered(style.save(fig, out, "metric_bars"), TITLE, caption)
