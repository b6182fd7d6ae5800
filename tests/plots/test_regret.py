import numpy as np
import pandas as pd
import pytest

from nsr_bench.plots.regret import delta_switch, fit_slope, slope_interval, split_seeds, theorem_line


def test_slope_of_a_synthetic_linear_regret_is_recovered_per_seed():
    rng = np.random.default_rng(0)
    curves = [np.cumsum(3.0 + rng.normal(0, 0.2, 6)) for _ in range(5)]  # 6 cycles, 3 per cycle
    iv = slope_interval(curves)
    assert iv.n == 5 and iv.contains(3.0) and iv.high - iv.low < 0.5
    assert fit_slope(np.arange(6), 2.5 * np.arange(6) + 1.0) == pytest.approx(2.5)
    assert theorem_line(np.arange(3), tasks=5, delta_switch=0.5).tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(ValueError):
        fit_slope(np.zeros(3), np.ones(3))


def cells(plotted_regret: float) -> pd.DataFrame:
    tasks = [0, 1, 2, 3, 4] * 6
    rows = [{"seed": s, "memory_mb": 0.0, "regret_per_cycle": [50.0] + [plotted_regret] * 5, "stream_tasks": tasks}
            for s in range(4)]
    rows.append({"seed": 4, "memory_mb": 0.0, "regret_per_cycle": [50.0, 8.0, 8.0, 8.0, 8.0, 8.0],
                 "stream_tasks": tasks})
    rows.append({"seed": 4, "memory_mb": 0.08, "regret_per_cycle": [50.0] + [1000.0] * 5, "stream_tasks": tasks})
    return pd.DataFrame(rows)


def test_held_out_delta_switch_ignores_the_plotted_cells():
    drawn, held = split_seeds([3, 0, 4, 1, 2, 4])
    assert (drawn, held) == ([0, 1, 2, 3], [4])
    delta, used = delta_switch(cells(plotted_regret=100.0), held)
    assert (delta, used) == (pytest.approx(2.0), 1)  # 8 per recurring cycle / (M - 1 = 4); first cycle left out
    assert delta_switch(cells(plotted_regret=0.0), held)[0] == delta  # the drawn seeds do not move it
    with pytest.raises(ValueError, match="held-out seeds"):
        delta_switch(cells(1.0), [7])
    with pytest.raises(ValueError, match="2\\+ seeds"):
        split_seeds([0])
