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
    # forgetting: max over rows 1..N-1 minus final: task0 0.9-0.95=-0.05, task1 0.8-0.7=0.1
    assert core.forgetting(R, TASKS) == pytest.approx(0.025)
    # BWT: only task 1 was last trained before N (at experience 2): 0.7 - 0.8
    assert core.backward_transfer(R, TASKS) == pytest.approx(-0.1)
    # FWT: task 1 first seen at experience 2: R[1, 1] - R[0, 1] = 0.4 - 0.5
    assert core.forward_transfer(R, TASKS) == pytest.approx(-0.1)


def test_forgetting_ignores_rows_before_a_task_was_first_trained():
    R2 = np.array([[0.1, 0.1], [0.9, 0.0], [0.8, 0.9]])  # task 1 is first trained at N
    assert core.forgetting(R2, [0, 1]) == pytest.approx(0.1)  # task 0 only; task 1's 0.0 row ignored


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


def test_recovery_steps_follow_the_definition():
    rec = core.recovery_steps(CURVES, tol=0.05)
    assert [(r["experience"], r["steps"], r["censored"]) for r in rec] == [(2, 1, False), (3, 0, False),
                                                                          (4, 2, True)]
    assert rec[0]["target"] == 1.0 and rec[1]["target"] == 0.8
    assert core.recovery_steps(CURVES, tol=0.0)[0]["steps"] == 2


def test_regret_per_cycle_sums_shortfalls_from_the_best_earlier_accuracy():
    per = core.regret_per_cycle(CURVES)
    assert per[0] == 0.0
    assert per[1] == pytest.approx((0.10 + 0.04 + 0.0) + 0.0)
    assert per[2] == pytest.approx(0.9 + 0.8)
