from nsr_bench.plots.figures.common import METHOD
from nsr_bench.plots.figures.metric_bars import metric_bars
from tests.plots.figures.conftest import check_print_rules, intervals


def test_bars_carry_error_bars_over_two_seeds(draw, results):
    fig, rendered = draw(metric_bars, results)
    check_print_rules(fig, rendered, legend=False)  # the names label the bars
    assert [ax.get_title() for ax in fig.axes] == ["Accuracy (ACC)", "Backward transfer (BWT)", "Forgetting"]
    assert intervals(fig) == 3 and METHOD in rendered.caption and "Holm-adjusted" in rendered.caption


def test_one_seed_draws_no_error_bar(draw, one_seed):
    fig, rendered = draw(metric_bars, one_seed)
    check_print_rules(fig, rendered, legend=False)  # the names label the bars
    assert intervals(fig) == 0 and "n = 1: no interval" in rendered.caption


def test_two_streams_get_a_headed_row_each_and_no_title_overlaps_another(draw, results):
    import pandas as pd

    from nsr_bench.plots.data import Results

    def twin(frame):
        return pd.concat([frame, frame.assign(hash=frame["hash"] + "x", stream="digits_cyclic[cycles=6]")])

    two = Results(*(twin(f) for f in (results.cells, results.accuracy, results.curves)))
    fig, rendered = draw(metric_bars, two)
    check_print_rules(fig, rendered, legend=False)
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["Digits (cyclic)", "Digits (cyclic), cycles = 6"]
