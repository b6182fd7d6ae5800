import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results, load
from nsr_bench.plots.figures.common import METRICS, SCENARIOS
from nsr_bench.plots.spec import default_spec


@pytest.fixture
def draw(monkeypatch, tmp_path):
    """A function of (figure function, results or study) -> (the matplotlib figure it drew, its Rendered);
    the files are written as usual."""
    save = style.save

    def run(fn, *args):
        drawn = []
        monkeypatch.setattr(style, "save", lambda fig, out, name: drawn.append(fig) or save(fig, out, name))
        out = OutputFolder(tmp_path, "--out", overwrite=True)
        result = fn(*args, out, default_spec()) if isinstance(args[0], Results) else fn(*args, out)
        (fig,) = drawn
        FigureCanvasAgg(fig).draw()  # closing the figure took its canvas
        return fig, result

    return run


@pytest.fixture(scope="session")
def results(small_store) -> Results:
    return load(small_store)


@pytest.fixture(scope="session")
def one_seed(results) -> Results:
    """The small store's cells of seed 0 only: n = 1."""
    return Results(*(frame[frame["seed"] == 0] for frame in (results.cells, results.accuracy, results.curves)))


def panels(fig) -> list:
    """The figure's data panels (not its colour bars)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def check_print_rules(fig, rendered, legend: bool = True) -> None:
    """What every figure keeps to: PNG and vector PDF written, at most double-column wide, no panel without
    data, a legend (where ``legend``) outside every panel, no title over another, titles and axis labels
    without raw keys or ``*``, a caption that states n."""
    assert rendered.png.stat().st_size > 5000 and rendered.pdf.read_bytes().startswith(b"%PDF")
    assert b"/Type3" not in rendered.pdf.read_bytes()  # fonts embedded as TrueType
    with Image.open(rendered.png) as png:
        assert png.size[0] / style.DPI <= style.DOUBLE + 0.05  # legends and labels included: fits two columns
    assert panels(fig) and all(ax.has_data() for ax in panels(fig))
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    assert bool(legends) == legend
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert not [ax for ax in fig.axes if box.overlaps(ax.get_window_extent(renderer))]
    texts = [*(ax.title for ax in fig.axes), *(sub._suptitle for sub in fig.subfigs if sub._suptitle)]
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]  # titles apart
    raw = set(METRICS) | set(SCENARIOS)
    for ax in fig.axes:
        titles = [ax.get_title(loc) for loc in ("left", "center", "right")]
        for text in (*titles, ax.get_xlabel(), ax.get_ylabel()):
            assert "_" not in text and "*" not in text and not raw & {text, text.split(",")[0]}, text
    assert "n = " in rendered.caption and rendered.title


def intervals(fig) -> int:
    """How many error bars and bands the figure draws."""
    from matplotlib.collections import PolyCollection  # what fill_between draws
    from matplotlib.container import ErrorbarContainer

    return sum(sum(isinstance(c, ErrorbarContainer) for c in ax.containers)
               + sum(isinstance(c, PolyCollection) for c in ax.collections) for ax in fig.axes)
