from nsr_bench.plots.figures.regret_vs_cycles import THEOREM, regret_vs_cycles
from tests.plots.figures.conftest import check_print_rules, intervals


def test_regret_holds_a_seed_out_and_ranks_the_bank_below_fresh(draw, results):
    fig, (rendered, slopes) = draw(regret_vs_cycles, results)
    check_print_rules(fig, rendered)
    assert slopes["NSR (Bank + similarity) [cap=50]"].mean < slopes["Fresh (memoryless)"].mean
    assert THEOREM in [ln.get_label() for ln in fig.axes[0].get_lines()]
    # two seeds: seed 1 estimates Δ_switch, seed 0 alone is drawn, so there is no band
    assert "held-out seed 1" in rendered.caption and "n = 1: no interval" in rendered.caption
    assert intervals(fig) == 0
