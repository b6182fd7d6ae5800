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
    Curve(4, 0, 2, [0, 2], [0.1, 0.2]),            # never reaches 0.95 -> censored, 2 points
]


TARGETS = {0: 1.0, 1: 0.8}


def test_retention_and_recovery_are_measured_against_the_common_target():
    rec = core.recovery(CURVES, TARGETS, tol=0.05)
    assert [(r["experience"], r["steps"], r["censored"]) for r in rec] == [(2, 1, False), (3, 0, False),
                                                                          (4, 2, True)]
    assert [r["retention"] for r in rec] == pytest.approx([0.9, 0.9 / 0.8, 0.1])
    assert core.recovery(CURVES, TARGETS, tol=0.0)[0]["steps"] == 2


def test_regret_per_cycle_sums_shortfalls_from_the_target_over_every_occurrence():
    per = core.regret_per_cycle(CURVES, TARGETS)
    assert per[0] == pytest.approx((0.5 + 0.2 + 0.0) + (0.3 + 0.2 + 0.0))
    assert per[1] == pytest.approx(0.10 + 0.04 + 0.0)
    assert per[2] == pytest.approx(0.9 + 0.8)


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
