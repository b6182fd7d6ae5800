import numpy as np
import pytest

from nsr_bench.plots import figures, render_all, studies
from nsr_bench.plots.data import load
from nsr_bench.plots.regret import fit_slope, theorem_line


def test_regret_slope_fit_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(6), 4)
    assert fit_slope(t, 2.5 * t + 1.0 + rng.normal(0, 0.01, len(t))) == pytest.approx(2.5, abs=0.01)
    assert theorem_line(np.arange(3), tasks=5, delta_switch=0.5).tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(ValueError):
        fit_slope(np.zeros(3), np.ones(3))


@pytest.mark.parametrize("name", ["recovery_curves", "regret_vs_cycles", "accuracy_matrices", "metric_bars",
                                  "ablation", "memory_budget"])
def test_each_figure_writes_a_non_empty_png_and_pdf(small_store, tmp_path, name):
    result = getattr(figures, name)(load(small_store), tmp_path)
    png = result[0] if isinstance(result, tuple) else result
    assert png.stat().st_size > 5000 and png.with_suffix(".pdf").stat().st_size > 1000


def test_regret_slopes_rank_the_bank_below_fresh(small_store, tmp_path):
    _, slopes = figures.regret_vs_cycles(load(small_store), tmp_path)
    assert slopes["nsr[cap=50]"] < slopes["fresh"]


def test_optuna_figure_and_render_all(small_store, tmp_path):
    (study,) = studies(small_store.url)
    assert figures.optuna_study(study, tmp_path).stat().st_size > 5000
    written, skipped, _ = render_all(small_store, tmp_path / "all")
    assert len(written) == 7 and not skipped


def test_empty_store_says_what_each_figure_needs(tmp_path):
    from nsr_bench.results.store import ResultsStore

    written, skipped, _ = render_all(ResultsStore(tmp_path), tmp_path / "figs")
    assert written == [] and len(skipped) == 6 and all("need" in s for s in skipped)


def test_report_writes_markdown_and_html(small_store, tmp_path, capsys):
    from nsr_bench.cli import main

    assert main(["report", "--results", small_store.url, "--out", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "| scenario" in md and "![recovery_curves](figures/recovery_curves.png)" in md
    assert "<img src=\"figures/ablation.png\"" in (tmp_path / "report.html").read_text()
