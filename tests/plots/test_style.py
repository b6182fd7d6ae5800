from nsr_bench.plots import style
from nsr_bench.plots.spec import FALLBACK, default_spec

OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def test_each_method_has_its_own_colour_blind_safe_colour():
    colours = [e.colour.upper() for e in default_spec().strategies.values()]
    assert len(set(colours)) == len(colours) and set(colours) <= OKABE_ITO
    assert not set(FALLBACK) & OKABE_ITO


def test_a_legend_below_grows_the_figure_instead_of_squeezing_the_panels(tmp_path):
    fig, axes = style.subplots(1, 1)
    for k in range(8):
        axes[0][0].plot([0, 1], [k, k], label=f"method {k}")
    height = fig.get_figheight()
    legend = style.legend_below(fig, *style.entries(fig.axes))
    fig.canvas.draw()
    box, panel = legend.get_window_extent(), axes[0][0].get_window_extent()
    assert fig.get_figheight() > height and box.y1 <= panel.y0 and panel.height / fig.dpi > 0.6 * height
    assert len(axes[0][0].get_lines()) == 8
