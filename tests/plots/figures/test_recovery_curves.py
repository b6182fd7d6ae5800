from nsr_bench.plots.figures.common import METHOD
from nsr_bench.plots.figures.recovery_curves import recovery_curves
from tests.plots.figures.conftest import check_print_rules, intervals, panels


def test_one_panel_per_recurrence_with_bands_over_two_seeds(draw, results):
    fig, rendered = draw(recovery_curves, results)
    check_print_rules(fig, rendered)
    recurrences = sorted(results.curves.loc[results.curves["recurrence"] > 0, "recurrence"].unique())
    assert [ax.get_title() for ax in panels(fig)] == [f"Recurrence {r}" for r in recurrences]
    assert intervals(fig) > 0 and "n = 2 seeds" in rendered.caption and METHOD in rendered.caption


def test_one_seed_draws_no_band_and_says_so(draw, one_seed):
    fig, rendered = draw(recovery_curves, one_seed)
    check_print_rules(fig, rendered)
    assert intervals(fig) == 0 and "n = 1: no interval" in rendered.caption
