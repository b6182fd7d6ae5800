from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import figures, render_all
from nsr_bench.plots.data import load
from nsr_bench.plots.spec import default_spec


def test_render_all_gives_each_figure_its_caption(small_store, tmp_path):
    written, skipped, _ = render_all(small_store, OutputFolder(tmp_path / "all", "--out"))
    assert [f.png.stem for f in written] == ["recovery_curves", "regret_vs_cycles", "accuracy_matrices",
                                             "metric_bars", "ablation", "memory_budget",
                                             "optuna_sweep-carry-digits_cyclic-acc_val-test"]
    assert all(f.png.exists() and f.pdf.exists() and f.title and "n = " in f.caption for f in written)
    assert len({f.caption for f in written}) == len(written)
    left_out, importances = skipped  # the sweep's carry trials: the optuna figure shows them
    assert left_out.startswith("headline figures: 3 sweep trials") and "nsr" not in left_out
    assert importances.startswith("optuna_importances: ") and "need 10+ completed trials" in importances


def test_empty_store_says_what_each_figure_needs(tmp_path):
    from nsr_bench.results.store import ResultsStore

    written, skipped, _ = render_all(ResultsStore(tmp_path), OutputFolder(tmp_path / "figs", "--out"))
    assert written == [] and len(skipped) == len(figures.FIGURES) and all("need" in s for s in skipped)


def test_a_method_has_one_colour_in_every_figure_and_the_reference_is_thicker(monkeypatch, small_store, tmp_path):
    from nsr_bench.plots import style

    spec = default_spec()
    drawn = []
    monkeypatch.setattr(style, "save", lambda fig, out, name: drawn.append(fig) or out.path / f"{name}.png")
    res, out = load(small_store), OutputFolder(tmp_path, "--out")
    figures.recovery_curves(res, out, spec)
    figures.regret_vs_cycles(res, out, spec)
    nsr, cap1, fresh = "NSR (Bank + similarity) [cap=50]", "NSR (Bank + similarity) [cap=1]", "Fresh (memoryless)"
    for fig in drawn:
        lines = {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()
                 if not ln.get_label().startswith(("_", "Theorem"))}
        assert set(lines) == {nsr, cap1, fresh}
        assert lines[nsr].get_color() == spec.strategies["nsr"].colour  # the defaults: solid, the base colour
        assert lines[cap1].get_color() != lines[nsr].get_color() and lines[cap1].get_linestyle() == "--"
        assert lines[fresh].get_color() == spec.strategies["fresh"].colour
        assert lines[nsr].get_linewidth() > lines[fresh].get_linewidth()
        assert all(len([ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]) <= 9
                   for ax in fig.axes)  # at most 8 strategies (+ the Theorem-1 line)
