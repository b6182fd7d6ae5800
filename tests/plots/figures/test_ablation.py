import importlib

import pytest

from nsr_bench.plots.figures.ablation import ablation
from nsr_bench.plots.figures.common import NoData
from tests.plots.figures.conftest import check_print_rules


def test_rows_are_metrics_and_the_legend_says_which_bars_have_the_bank(draw, results):
    fig, rendered = draw(ablation, results)
    check_print_rules(fig, rendered)
    assert {ax.get_title().split(",")[0] for ax in fig.axes} == {"Recovery steps", "Accuracy (ACC)"}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Bank on", "Bank off"]


def test_ablation_without_cells_at_the_defaults_is_no_data_not_a_crash(monkeypatch, draw, results):
    """A store holding only variants (e.g. memory_ablation.yaml's) has no cell at the spec's settings."""
    module = importlib.import_module("nsr_bench.plots.figures.ablation")  # the package's name is the function
    monkeypatch.setattr(module, "at_defaults", lambda cells, *a, **k: cells["seed"] < -1)
    with pytest.raises(NoData, match="sit at their spec's defaults"):
        draw(ablation, results)


def test_a_tuned_weight_equal_to_a_factor_value_joins_that_column():
    import importlib

    import pandas as pd

    ablation = importlib.import_module("nsr_bench.plots.figures.ablation")
    tuned = {"tuning": {"status": "tuned", "settings": {"distill_lambda": 1.0}}}
    data = pd.DataFrame({"param.distill_lambda": [1.0, 0.0, 1.0, 2.118], "manifest": [{}, {}, tuned, tuned]})
    assert ablation._distill_columns(data) == ["1", "0", "1", "tuned"]
