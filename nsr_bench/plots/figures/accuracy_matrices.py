"""Accuracy matrices R[i, j]: test accuracy on task j after training experience i."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results
from nsr_bench.plots.figures.common import NoData, headline, left_out, reference_name, stream_name
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec

TITLE = "Accuracy matrices"
COLS = 4


def accuracy_matrices(res: Results, out: OutputFolder, spec: FigureSpec) -> Rendered:
    """R[i, j] heatmaps (oracle inference), the first seed of each method of the spec, per stream."""
    cells, names, trials = headline(res, spec)
    acc = res.accuracy
    if acc.empty or cells.empty:
        raise NoData("accuracy matrices need finished cells of the figure spec's strategies")
    acc = acc[acc["mode"] == "oracle"].merge(cells[["hash", "name"]], on="hash")
    panels = [(s, n) for s in sorted(acc["stream"].unique()) for n in names
              if ((acc["stream"] == s) & (acc["name"] == n)).any()]
    if not panels:
        raise NoData("accuracy matrices need oracle accuracies of the figure spec's strategies")
    cols = min(COLS, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = style.subplots(rows, cols, height=1.75 * rows)
    several = len({s for s, _ in panels}) > 1
    ref = reference_name(cells)
    chosen = []
    for ax, (stream, name) in zip(axes.flat, panels, strict=False):
        g = acc[(acc["stream"] == stream) & (acc["name"] == name)]
        seed = g["seed"].min()
        chosen.append(seed)
        matrix = g[g["seed"] == seed].pivot_table(index="experience", columns="task", values="acc")
        image = ax.imshow(matrix.to_numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="none")
        ax.set_xticks(range(len(matrix.columns)), matrix.columns)
        ax.set_yticks(range(0, len(matrix), max(1, len(matrix) // 5)))
        ax.grid(False)
        title = style.wrap(name + (f" on {stream_name(stream)}" if several else ""), cols, size=7)
        ax.set_title(title, fontsize=7, fontweight="bold" if name == ref else "normal")
    for ax in axes.flat[len(panels):]:
        ax.remove()
    for i, ax in enumerate(axes.flat[:len(panels)]):
        ax.set_ylabel("After experience i" if i % cols == 0 else "")
        ax.set_xlabel("Task j" if i + cols >= len(panels) else "")
    fig.colorbar(image, ax=fig.axes, label="Test accuracy", shrink=0.9, aspect=30)
    seeds = sorted(set(map(int, chosen)))
    where = " and stream" if several else " on " + stream_name(panels[0][0])
    caption = (f"Test accuracy R[i, j] on task j (columns) after training experience i (rows), oracle task "
               f"identity, one panel per method{where}; "
               f"one seed each (seed {', '.join(map(str, seeds))}): n = 1: no interval. Other seeds are left out."
               + left_out("sweep trials", trials))
    return Rendered(style.save(fig, out, "accuracy_matrices"), TITLE, caption)
