"""The one look of every figure: sizes of a single- and a double-column figure, fonts legible when printed at
those sizes, line widths, the fills that tell bar groups apart, legends outside the data, and saving as PDF
(vector, TrueType fonts embedded) and PNG. Colours come from the figure spec (one per method)."""

from __future__ import annotations

from pathlib import Path

from nsr_bench.outputs import OutputFolder

SINGLE = 3.3
"""Width (inches) of a single-column figure."""
DOUBLE = 6.9
"""Width (inches) of a double-column figure."""
PANEL_HEIGHT = 1.9
"""Height (inches) of one row of panels."""
BAR_HEIGHT = 0.16
"""Height (inches) each bar of a horizontal bar panel takes."""
LINE = 1.2
REFERENCE_LINE = 2.2
"""Line widths: every method, and the spec's reference drawn thicker."""
CHAR_WIDTH = 0.6
"""A character's mean width in ems (a legend's columns are as many as fit the figure's width)."""
DPI = 300

RC = {
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "font.size": 8,
    "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 7, "legend.title_fontsize": 7, "legend.frameon": False, "figure.titlesize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#dddddd",
    "grid.linewidth": 0.5, "axes.axisbelow": True, "axes.linewidth": 0.6, "axes.facecolor": "white",
    "axes.edgecolor": "#333333", "xtick.major.width": 0.6, "ytick.major.width": 0.6, "lines.linewidth": LINE,
    "lines.markersize": 3.5, "errorbar.capsize": 2, "patch.linewidth": 0.8, "figure.dpi": 100,
    "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.dpi": DPI,
}
"""matplotlib settings of every figure (``pdf.fonttype`` 42: fonts embedded as TrueType, not Type 3)."""

GROUPS = ({"filled": True, "hatch": None}, {"filled": False, "hatch": None}, {"filled": True, "hatch": "////"},
          {"filled": False, "hatch": "...."})
"""How bars of the 1st, 2nd, ... group of one method differ: filled, outlined, then hatched."""


def apply() -> None:
    """Use the non-interactive backend and :data:`RC`."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(RC)


def subplots(rows: int, cols: int, width: float | None = None, height: float | None = None, **kwargs):
    """A figure of ``rows`` x ``cols`` panels, single-column wide for one panel and double-column wide for
    more (unless ``width``), laid out by constrained layout (which keeps legends ``outside`` the panels)."""
    import matplotlib.pyplot as plt

    apply()
    width = width or (SINGLE if cols == 1 else DOUBLE)
    return plt.subplots(rows, cols, figsize=(width, height or PANEL_HEIGHT * rows), squeeze=False,
                        layout="constrained", **kwargs)


def rows(heights: list[float], counts: list[int], titles: list[str] | None = None, width: float = DOUBLE,
         **kwargs):
    """A figure of rows of panels, ``counts[i]`` side by side in row ``i`` (``heights[i]`` inches tall, headed
    by ``titles[i]``), each row laid out on its own (a subfigure: one row's long tick labels do not narrow
    another's panels; ``kwargs`` go to its ``subplots``): the figure and a list of axes per row."""
    import matplotlib.pyplot as plt

    apply()
    fig = plt.figure(figsize=(width, sum(heights)), layout="constrained")
    subs = fig.subfigures(len(counts), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, title in zip(subs, titles or [], strict=False):
        sub.suptitle(title, fontweight="bold")
    return fig, [list(sub.subplots(1, n, squeeze=False, **kwargs)[0]) for sub, n in zip(subs, counts, strict=True)]


def legend_below(fig, handles: list, labels: list[str], title: str | None = None, cols: int | None = None):
    """One legend for the whole figure, below every panel (never over data), in up to ``cols`` columns; the
    figure grows by the legend's height, so the panels keep theirs."""
    import math

    width, height = fig.get_size_inches()
    entry = max(map(len, labels)) * RC["legend.fontsize"] * CHAR_WIDTH / 72 + 0.5  # inches, with the handle
    cols = cols or max(1, min(len(labels), int(width // entry)))
    entries = math.ceil(len(labels) / cols) + (title is not None)
    fig.set_figheight(height + entries * RC["legend.fontsize"] * 1.6 / 72 + 0.1)
    return fig.legend(handles, labels, loc="outside lower center", ncols=cols, title=title)


def entries(axes) -> tuple[list, list[str]]:
    """The legend handles and labels of ``axes``, each label once, in the order first drawn."""
    seen: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


def wrap(text: str, cols: int, width: float = DOUBLE, size: float | None = None) -> str:
    """``text`` broken into lines that fit the width of one of ``cols`` panels side by side."""
    import textwrap

    size = size or RC["axes.titlesize"]
    return textwrap.fill(text, max(12, int((width / cols - 0.35) * 72 / (size * CHAR_WIDTH))))


def group_patch(k: int, label: str):
    """A neutral legend entry for bar group ``k`` (:data:`GROUPS`): how its bars look, in grey."""
    from matplotlib.patches import Patch

    g = GROUPS[k % len(GROUPS)]
    return Patch(facecolor="#777777" if g["filled"] else "white", edgecolor="#777777", hatch=g["hatch"],
                 label=label)


def bold(texts, names: set[str]) -> None:
    """Set the ``texts`` (tick labels, legend entries) that read one of ``names`` in bold."""
    for text in texts:
        if text.get_text() in names:
            text.set_fontweight("bold")


def save(fig, out: OutputFolder, name: str) -> Path:
    """Write ``<name>.pdf`` (vector) and ``<name>.png`` into ``out``, close the figure, return the PNG path."""
    import matplotlib.pyplot as plt

    try:
        for suffix in ("pdf", "png"):
            with out.open(f"{name}.{suffix}") as f:
                fig.savefig(f, format=suffix, dpi=DPI, bbox_inches="tight", pad_inches=0.02)
    finally:
        plt.close(fig)
    return out.path / f"{name}.png"
