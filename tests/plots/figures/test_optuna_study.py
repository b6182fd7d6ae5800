import pytest

from nsr_bench.plots import studies
from nsr_bench.plots.figures.common import NoData
from nsr_bench.plots.figures.optuna_study import IMPORTANCE_TRIALS, optuna_history, optuna_importances
from tests.plots.figures.conftest import check_print_rules


def study_of(direction: str, values: list[float]):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, study_name="sweep-carry-digits_cyclic-acc_val-test")
    for value in values:
        study.enqueue_trial({"x": value, "y": 1.0})
        study.optimize(lambda t: t.suggest_float("x", 0, 5) + 0 * t.suggest_float("y", 0, 5), n_trials=1)
    return study


def test_history_of_a_real_sweep_and_no_importances_below_the_threshold(draw, small_store):
    (study,) = studies(small_store.url)
    fig, rendered = draw(optuna_history, study)
    check_print_rules(fig, rendered)
    assert fig.axes[0].get_ylabel() == "Validation accuracy"
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())
    with pytest.raises(NoData, match=f"need {IMPORTANCE_TRIALS}\\+ completed trials, it has 3"):
        draw(optuna_importances, study)


@pytest.mark.parametrize("direction, best", [("minimize", [3.0, 1.0, 1.0]), ("maximize", [3.0, 3.0, 3.0])])
def test_best_so_far_follows_the_studys_direction(draw, direction, best):
    fig, rendered = draw(optuna_history, study_of(direction, [3.0, 1.0, 2.0]))
    (line,) = fig.axes[0].get_lines()
    assert line.get_label() == "Best so far" and list(line.get_ydata()) == best
    assert ("lowest" if direction == "minimize" else "highest") in rendered.caption


def test_importances_from_enough_trials(draw):
    fig, rendered = draw(optuna_importances, study_of("maximize", [v / 3 for v in range(IMPORTANCE_TRIALS)]))
    check_print_rules(fig, rendered, legend=False)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["y", "x"]
    assert f"{IMPORTANCE_TRIALS} completed trials" in rendered.caption
