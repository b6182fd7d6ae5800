import numpy as np
import pytest

from nsr_bench.metrics import core
from nsr_bench.metrics.core import Curve

# Two tasks trained as A, B, A. Row 0 is before training.
R = np.array([
    [0.5, 0.5],
    [0.9, 0.4],
    [0.6, 0.8],
    [0.95, 0.7],
])
TASKS = [0, 1, 0]


def test_acc_forgetting_bwt_fwt_on_a_hand_made_matrix():
    assert core.average_accuracy(R) == pytest.approx(0.825)
    # forgetting over BWT's tasks (last trained before N): task 1 only, 0.8 - 0.7
    assert core.forgetting(R, TASKS) == pytest.approx(0.1)
    # BWT: only task 1 was last trained before N (at experience 2): 0.7 - 0.8
    assert core.backward_transfer(R, TASKS) == pytest.approx(-0.1)
    # FWT: task 1 first seen at experience 2: R[1, 1] - R[0, 1] = 0.4 - 0.5
    assert core.forward_transfer(R, TASKS) == pytest.approx(-0.1)


def test_forgetting_never_counts_the_task_trained_last():
    """The old definition averaged task 0 (trained last, -0.05) in and came out below -BWT."""
    assert core.forgetting(R, TASKS) >= -core.backward_transfer(R, TASKS)


def test_forgetting_ignores_rows_before_a_task_was_first_trained():
    R2 = np.array([[0.1, 0.1, 0.1], [0.9, 0.0, 0.0], [0.8, 0.0, 0.9], [0.7, 0.6, 0.8]])
    # tasks 0, 2, 1: task 0 (max 0.9 over rows 1-2) and task 2 (row 2 only) count; task 1 ends at N
    assert core.forgetting(R2, [0, 2, 1]) == pytest.approx(((0.9 - 0.7) + (0.9 - 0.8)) / 2)


def test_bwt_is_undefined_when_every_task_ends_at_n():
    assert core.backward_transfer(R[:2], [0]) is None
    assert core.forgetting(R[:2], [0]) == 0.0


def test_matrix_shape_is_checked():
    with pytest.raises(ValueError, match="needs 3 rows"):
        core.forgetting(R, [0, 1])


CURVES = [
    Curve(0, 0, 0, [0, 2, 4], [0.5, 0.8, 1.0]),
    Curve(1, 1, 0, [0, 2, 4], [0.5, 0.6, 0.8]),
    Curve(2, 0, 1, [0, 2, 4], [0.90, 0.96, 1.0]),  # target 1.0: 0.95 needed -> step 1
    Curve(3, 1, 1, [0, 2, 4], [0.9, 0.9, 0.9]),    # target 0.8: 0.76 needed -> step 0
    Curve(4, 0, 2, [0, 2, 4], [0.1, 0.2, 0.3]),    # never reaches 0.95 -> censored at the horizon, 2
]


TARGETS = {0: 1.0, 1: 0.8}


def test_retention_and_recovery_are_measured_against_the_common_target():
    rec = core.recovery(CURVES, TARGETS, tol=0.05)
    assert [(r["experience"], r["steps"], r["censored"]) for r in rec] == [(2, 1, False), (3, 0, False),
                                                                          (4, 2, True)]
    assert {r["horizon"] for r in rec} == {2}
    assert [r["retention"] for r in rec] == pytest.approx([0.9, 0.9 / 0.8, 0.1])
    assert core.recovery(CURVES, TARGETS, tol=0.0)[0]["steps"] == 2


def test_regret_per_cycle_sums_shortfalls_from_the_target_over_every_occurrence():
    per = core.regret_per_cycle(CURVES, TARGETS)
    assert per[0] == pytest.approx((0.5 + 0.2 + 0.0) + (0.3 + 0.2 + 0.0))
    assert per[1] == pytest.approx(0.10 + 0.04 + 0.0)
    assert per[2] == pytest.approx(0.9 + 0.8 + 0.7)


def test_a_frozen_strategy_below_the_target_pays_regret_and_retains_less_than_one():
    """A strategy that never trains (NCM) shows a flat curve: with an own-best target it looked perfect
    (regret 0, recovered at once); against the common target it pays for its accuracy."""
    occurrences = [(0, 0), (1, 0), (0, 1), (1, 1)]
    flat = [Curve(i, t, c, [0, 2, 4], [0.6, 0.6, 0.6]) for i, (t, c) in enumerate(occurrences)]
    rec = core.recovery(flat, TARGETS, tol=0.05)
    assert all(r["retention"] < 1 for r in rec) and all(r["censored"] for r in rec)
    assert all(r > 0 for r in core.regret_per_cycle(flat, TARGETS))


def _cycles(shortfalls: list[float]) -> list[Curve]:
    """Two tasks of target 1.0, one 3-point curve per task and cycle, ``shortfalls[c]`` below the target."""
    return [Curve(2 * c + t, t, c, [0, 1, 2], [1.0 - gap] * 3) for c, gap in enumerate(shortfalls) for t in (0, 1)]


def test_late_regret_gap_separates_linear_from_flattening_regret():
    targets = {0: 1.0, 1: 1.0}
    linear = core.late_regret_gap(_cycles([0.5, 0.2, 0.2, 0.2, 0.2, 0.2]), targets)
    assert linear == pytest.approx(0.2)
    # cycle 0 learns and is left out; of cycles 1..5 the later half (3, 4, 5) counts
    flattening = core.late_regret_gap(_cycles([0.5, 0.3, 0.1, 0.0, 0.0, 0.0]), targets)
    assert flattening == 0.0
    assert core.late_regret_gap(_cycles([0.5, 0.2, 0.2, 0.2, 0.1]), targets) == pytest.approx(0.15)  # cycles 3, 4
    assert core.late_regret_gap(_cycles([0.5, 0.2, 0.2]), targets) is None  # 3 cycles: 2 increments


def test_a_never_recovering_training_free_strategy_is_censored_at_the_common_horizon():
    """NCM takes no step: the recorder fills its curve on the trained strategies' grid, so a recurrence it
    never recovers counts the whole horizon (4 intervals), not its one measured point; a trained strategy
    recovering at interval 3 now scores better, on regret summed over as many points."""
    grid = [0, 5, 10, 15, 20]
    ncm = [Curve(2, 0, 1, grid, [0.6] * 5)]
    trained = [Curve(2, 0, 1, grid, [0.5, 0.7, 0.9, 0.96, 0.98])]
    (frozen,), (learner,) = core.recovery(ncm, TARGETS), core.recovery(trained, TARGETS)
    assert (frozen["steps"], frozen["censored"]) == (4, True)
    assert (learner["steps"], learner["censored"]) == (3, False)
    assert core.recovery_summary([frozen]) == {"recovery_steps_mean": 4.0, "recovery_steps_median": None,
                                               "recovery_censored": 1}
    assert core.regret_per_cycle(ncm, TARGETS)[1] == pytest.approx(5 * 0.4)
    assert core.regret_per_cycle(trained, TARGETS)[1] == pytest.approx(0.5 + 0.3 + 0.1 + 0.04 + 0.02)


def test_kaplan_meier_on_hand_made_censored_times():
    # recovered at 1, 1 and 3; two never by the horizon 4: S = 1 - 2/5 at 1, then x (1 - 1/3) at 3
    km = core.kaplan_meier([1, 1, 3, 4, 4], [False, False, False, True, True])
    assert dict(km) == pytest.approx({1: 0.6, 3: 0.4})
    assert core.km_median(km) == 3
    # the area under S up to the horizon: 1 x 1 + 0.6 x 2 + 0.4 x 1
    assert core.restricted_mean(km, 4) == pytest.approx(2.6)
    assert core.restricted_mean(km, 2) == pytest.approx(1 + 0.6)


def test_restricted_mean_equals_the_mean_with_censored_times_at_the_common_horizon():
    """On one grid every censoring happens at the horizon, and E[min(T, horizon)] is the plain mean."""
    steps, censored = [0, 2, 2, 5, 5, 5], [False, False, False, False, True, True]
    km = core.kaplan_meier(steps, censored)
    assert core.restricted_mean(km, 5) == pytest.approx(np.mean(steps))
    records = [{"steps": t, "censored": c, "horizon": 5} for t, c in zip(steps, censored, strict=True)]
    assert core.recovery_summary(records) == {"recovery_steps_mean": pytest.approx(np.mean(steps)),
                                              "recovery_steps_median": 2, "recovery_censored": 2}


def test_kaplan_meier_keeps_a_time_censored_early_at_risk_only_until_then():
    # censored at 2 leaves the risk set after 2: S(3) = 0.75 x (1 - 1/2); the plain mean (2.5) would
    # count it as recovered at 2
    km = core.kaplan_meier([1, 2, 3, 4], [False, True, False, True])
    assert dict(km) == pytest.approx({1: 0.75, 3: 0.375})
    assert core.restricted_mean(km, 4) == pytest.approx(1 + 0.75 * 2 + 0.375)


def test_kaplan_meier_counts_an_event_before_a_censoring_at_the_same_time():
    assert core.kaplan_meier([2, 2], [False, True]) == [(2, 0.5)]
    assert core.km_median([(2, 0.5)]) == 2


def test_km_median_is_censored_when_fewer_than_half_recover():
    km = core.kaplan_meier([1, 4, 4, 4], [False, True, True, True])
    assert km == [(1, 0.75)] and core.km_median(km) is None
    assert core.restricted_mean(km, 4) == pytest.approx(1 + 0.75 * 3)


def test_recovery_summary_without_recurrences():
    assert core.recovery_summary([]) == {"recovery_steps_mean": None, "recovery_steps_median": None,
                                         "recovery_censored": 0}
    with pytest.raises(ValueError, match="censoring flags"):
        core.kaplan_meier([1, 2], [False])


def test_recovery_steps_mean_censors_an_early_horizon_through_kaplan_meier():
    records = [{"steps": t, "censored": c, "horizon": h}
               for t, c, h in [(1, False, 4), (2, True, 2), (3, False, 4), (4, True, 4)]]
    assert core.recovery_summary(records)["recovery_steps_mean"] == pytest.approx(1 + 0.75 * 2 + 0.375)
