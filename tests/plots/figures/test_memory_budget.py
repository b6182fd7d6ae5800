import pandas as pd

from nsr_bench.plots.figures.memory_budget import cap_sweep, memory_budget
from tests.plots.figures.conftest import check_print_rules, intervals


def test_panels_exist_only_for_data_and_the_cap_line_has_a_band(draw, results, one_seed):
    fig, rendered = draw(memory_budget, results)
    check_print_rules(fig, rendered)
    assert fig.axes[0].get_xlabel() == "Retention cap K" and intervals(fig) > 0
    fig, rendered = draw(memory_budget, one_seed)
    check_print_rules(fig, rendered)
    assert intervals(fig) == 0 and "n = 1: no interval" in rendered.caption


def test_the_cap_panels_take_the_one_at_a_time_cap_factor_not_other_factors_cells():
    ref = {"strategy": "nsr", "param.energy": 0.99, "param.tau_recall": 0.9}
    rows = [{**ref, "param.cap": k, "seed": s} for k in (1, 2, 5, 50) for s in (0, 1)]
    rows += [{**ref, "param.cap": 50, "param.energy": e, "seed": 0} for e in (0.8, 0.9)]
    rows += [{**ref, "param.cap": 50, "param.tau_recall": t, "seed": 0} for t in (0.7, 0.8)]
    rows += [{"strategy": "rl", "param.energy": 0.95, "param.tau_recall": None, "param.cap": 50, "seed": 0}]
    kept = cap_sweep(pd.DataFrame(rows))
    nsr = kept[kept["strategy"] == "nsr"]
    assert sorted(nsr["param.cap"]) == [1, 1, 2, 2, 5, 5, 50, 50]
    assert set(nsr["param.energy"]) == {0.99} and set(nsr["param.tau_recall"]) == {0.9}
    assert len(kept[kept["strategy"] == "rl"]) == 1
