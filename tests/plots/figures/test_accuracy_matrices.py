from nsr_bench.plots.figures.accuracy_matrices import accuracy_matrices
from tests.plots.figures.conftest import check_print_rules, panels


def test_one_heatmap_per_method_sharing_one_colour_bar(draw, results):
    fig, rendered = draw(accuracy_matrices, results)
    check_print_rules(fig, rendered, legend=False)  # heatmaps: a colour bar, no legend
    bars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
    assert len(bars) == 1 and bars[0].get_ylabel() == "Test accuracy"
    assert len(panels(fig)) == 3 and all(ax.get_images() for ax in panels(fig))
    assert "n = 1: no interval" in rendered.caption and rendered.pdf.exists()
