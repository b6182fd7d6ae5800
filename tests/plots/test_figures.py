import pytest

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import figures, render_all, studies
from nsr_bench.plots.data import load
from nsr_bench.plots.spec import default_spec


@pytest.mark.parametrize("name", ["recovery_curves", "regret_vs_cycles", "accuracy_matrices", "metric_bars",
                                  "ablation", "memory_budget"])
def test_each_figure_writes_a_non_empty_png_and_pdf(small_store, tmp_path, name):
    result = getattr(figures, name)(load(small_store), OutputFolder(tmp_path, "--out"), default_spec())
    png = result[0] if isinstance(result, tuple) else result
    assert png.stat().st_size > 5000 and png.with_suffix(".pdf").stat().st_size > 1000


def test_regret_slopes_rank_the_bank_below_fresh(small_store, tmp_path):
    _, slopes = figures.regret_vs_cycles(load(small_store), OutputFolder(tmp_path, "--out"), default_spec())
    assert slopes["NSR (Bank + similarity) [cap=50]"].mean < slopes["Fresh (memoryless)"].mean


def test_optuna_figure_and_render_all(small_store, tmp_path):
    (study,) = studies(small_store.url)
    assert figures.optuna_study(study, OutputFolder(tmp_path, "--out")).stat().st_size > 5000
    written, skipped, _ = render_all(small_store, OutputFolder(tmp_path / "all", "--out"))
    assert len(written) == 7
    assert all(f.png.exists() and f.pdf.exists() and f.title for f in written)
    (left_out,) = skipped  # the sweep's carry trials: the optuna figure shows them
    assert left_out.startswith("headline figures: 3 sweep trials") and "nsr" not in left_out


def test_empty_store_says_what_each_figure_needs(tmp_path):
    from nsr_bench.results.store import ResultsStore

    written, skipped, _ = render_all(ResultsStore(tmp_path), OutputFolder(tmp_path / "figs", "--out"))
    assert written == [] and len(skipped) == 6 and all("need" in s for s in skipped)


def drawn(monkeypatch, small_store, tmp_path, *names):
    """The matplotlib figures the named functions draw (captured before they are closed)."""
    captured = []
    monkeypatch.setattr(figures, "_save", lambda fig, out, name: captured.append(fig) or out.path / f"{name}.png")
    for name in names:
        getattr(figures, name)(load(small_store), OutputFolder(tmp_path, "--out"), default_spec())
    return captured


def test_a_strategy_has_one_colour_in_every_figure_and_the_reference_is_thicker(monkeypatch, small_store,
                                                                                 tmp_path):
    spec = default_spec()
    curves, regret = drawn(monkeypatch, small_store, tmp_path, "recovery_curves", "regret_vs_cycles")
    for fig in (curves, regret):
        lines = {ln.get_label().split(":")[0]: ln for ax in fig.axes for ln in ax.get_lines()
                 if not ln.get_label().startswith(("_", "T(M-1)"))}
        nsr, cap1 = "NSR (Bank + similarity) [cap=50]", "NSR (Bank + similarity) [cap=1]"
        assert set(lines) == {nsr, cap1, "Fresh (memoryless)"}
        assert lines[nsr].get_color() == spec.strategies["nsr"].colour  # the defaults: solid, the base colour
        assert lines[cap1].get_color() != lines[nsr].get_color() and lines[cap1].get_linestyle() == "--"
        assert lines["Fresh (memoryless)"].get_color() == spec.strategies["fresh"].colour
        assert lines[nsr].get_linewidth() > lines["Fresh (memoryless)"].get_linewidth()
        assert "n = " in fig._suptitle.get_text() and "95% t interval" in fig._suptitle.get_text()
        assert all(len([ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]) <= 9
                   for ax in fig.axes)  # at most 8 strategies (+ the Theorem-1 line)
    assert "held out" in regret._suptitle.get_text()


def test_ablation_without_cells_at_the_defaults_is_no_data_not_a_crash(monkeypatch, small_store, tmp_path):
    """A store holding only variants (e.g. memory_ablation.yaml's) has no cell at the spec's settings."""
    monkeypatch.setattr(figures, "at_defaults", lambda cells, *a, **k: cells["seed"] < -1)
    with pytest.raises(figures.NoData, match="sit at their spec's defaults"):
        figures.ablation(load(small_store), OutputFolder(tmp_path, "--out"), default_spec())


def test_the_cap_panels_take_the_one_at_a_time_cap_factor_not_other_factors_cells():
    import pandas as pd

    ref = {"strategy": "nsr", "param.energy": 0.99, "param.tau_recall": 0.9}
    rows = [{**ref, "param.cap": k, "seed": s} for k in (1, 2, 5, 50) for s in (0, 1)]
    rows += [{**ref, "param.cap": 50, "param.energy": e, "seed": 0} for e in (0.8, 0.9)]
    rows += [{**ref, "param.cap": 50, "param.tau_recall": t, "seed": 0} for t in (0.7, 0.8)]
    rows += [{"strategy": "rl", "param.energy": 0.95, "param.tau_recall": None, "param.cap": 50, "seed": 0}]
    kept = figures.cap_sweep(pd.DataFrame(rows))
    nsr = kept[kept["strategy"] == "nsr"]
    assert sorted(nsr["param.cap"]) == [1, 1, 2, 2, 5, 5, 50, 50]
    assert set(nsr["param.energy"]) == {0.99} and set(nsr["param.tau_recall"]) == {0.9}
    assert len(kept[kept["strategy"] == "rl"]) == 1


@pytest.mark.parametrize("direction, best", [("minimize", [3.0, 1.0, 1.0]), ("maximize", [3.0, 3.0, 3.0])])
def test_the_sweep_figures_best_so_far_follows_the_studys_direction(tmp_path, monkeypatch, direction, best):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, study_name="s")
    for value in (3.0, 1.0, 2.0):
        study.enqueue_trial({"x": value})
        study.optimize(lambda t: t.suggest_float("x", 0, 5), n_trials=1)
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, out, name: drawn.append(fig) or out.path / name)
    figures.optuna_study(study, OutputFolder(tmp_path, "--out"))
    line = next(ln for ln in drawn[0].axes[0].get_lines() if ln.get_label() == "best so far")
    assert list(line.get_ydata()) == best


def test_drawn_intervals_stay_inside_what_the_metric_can_take():
    wide = figures.interval([0.95, 0.05], "acc")
    assert (wide.low, wide.high) == (0.0, 1.0) and wide.mean == 0.5
    assert figures.interval([0.5, 9.5], "regret").low == 0.0
    assert figures.interval([0.5, 9.5], "something_else").low < 0  # no known range: as computed
    narrow = figures.interval([0.5, 0.52, 0.51], "acc")
    assert 0.0 < narrow.low < narrow.high < 1.0
