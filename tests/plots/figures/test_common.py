from nsr_bench.plots.figures.common import METHOD, interval, metric_name, n_caption, stream_name


def test_drawn_intervals_stay_inside_what_the_metric_can_take():
    wide = interval([0.95, 0.05], "acc")
    assert (wide.low, wide.high) == (0.0, 1.0) and wide.mean == 0.5
    assert interval([0.5, 9.5], "regret").low == 0.0
    assert interval([0.5, 9.5], "something_else").low < 0  # no known range: as computed
    narrow = interval([0.5, 0.52, 0.51], "acc")
    assert 0.0 < narrow.low < narrow.high < 1.0


def test_captions_state_n_and_that_one_seed_has_no_interval():
    assert n_caption([1, 1]) == "n = 1: no interval (one seed)"
    assert n_caption([3, 3]) == f"n = 3 seeds; mean and {METHOD}"
    assert n_caption([1, 3]).endswith("n = 1: no interval") and "n = 1-3 seeds" in n_caption([1, 3])


def test_keys_print_as_names():
    assert metric_name("recovery_steps_mean") == "Recovery steps" and metric_name("acc") == "Accuracy (ACC)"
    assert metric_name("late_regret_gap") == "Late regret gap"
    assert stream_name("digits_cyclic") == "Digits (cyclic)"
    assert (stream_name("digits_cyclic[cycles=6,drift_strength=0.5]")
            == "Digits (cyclic), cycles = 6, drift strength = 0.5")


def test_a_store_of_sweep_trials_only_has_no_headline_figure(results, tmp_path):
    """The sweep's carry trials are no headline cells and keep no Bank: every figure says it has no data."""
    import pytest

    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots.data import Results
    from nsr_bench.plots.figures import FIGURES, NoData
    from nsr_bench.plots.spec import default_spec

    trials = results.cells.loc[results.cells["trial"], "hash"]
    only = Results(*(f[f["hash"].isin(trials)] for f in (results.cells, results.accuracy, results.curves)))
    for fn in FIGURES:
        with pytest.raises(NoData):
            fn(only, OutputFolder(tmp_path, "--out"), default_spec())
