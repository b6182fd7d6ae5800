import math

import numpy as np
import pytest

from nsr_bench.metrics.stats import holm, paired_test, t_interval


def test_t_interval_matches_textbook_value():
    iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, sd sqrt(2.5), t_{0.975,4} = 2.776445
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert iv.mean == 3.0 and iv.n == 5 and iv.method == "t"
    assert iv.low == pytest.approx(3 - half, rel=1e-5) and iv.high == pytest.approx(3 + half, rel=1e-5)
    assert iv.contains(3.0) and not iv.contains(6.0)


def test_t_interval_drops_nan_and_has_no_bounds_for_one_value():
    iv = t_interval([2.0, float("nan")])
    assert iv.n == 1 and iv.mean == 2.0 and math.isnan(iv.low)
    assert t_interval([]).n == 0


def test_paired_test_pairs_by_seed_not_by_position():
    reference = {0: 1.0, 1: 5.0, 2: 9.0, 3: 2.0}
    shifted = {3: 2.5, 2: 9.4, 1: 5.6, 0: 1.45, 7: 100.0}  # seed 7 has no partner
    result = paired_test(shifted, reference)
    assert result.n == 4 and result.mean_difference == pytest.approx(0.4875)
    assert result.p_value < 0.01 and result.test == "paired t-test"
    unpaired = paired_test(dict(enumerate(np.random.default_rng(0).permutation(list(shifted.values())[:4]))),
                           reference)
    assert unpaired.p_value > result.p_value


def test_paired_test_degenerate_cases():
    assert math.isnan(paired_test({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0}).p_value)  # identical
    assert paired_test({0: 2.0, 1: 3.0}, {0: 1.0, 1: 2.0}).p_value == 0.0  # constant shift
    assert paired_test({0: 2.0, 1: 3.5, 2: 1.0}, {0: 1.0, 1: 2.0, 2: 1.2}, test="wilcoxon").test.startswith("Wil")
    with pytest.raises(ValueError, match="unknown paired test"):
        paired_test({}, {}, test="z")


def test_holm_adjusts_in_order_and_is_monotone():
    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    assert adjusted[0] == pytest.approx(0.03) and adjusted[2] == pytest.approx(0.06)
    assert adjusted[1] == pytest.approx(0.06) and math.isnan(adjusted[3])
    assert holm([0.5, 0.9]) == [pytest.approx(1.0), pytest.approx(1.0)]


def test_ratio_interval_with_an_exact_denominator_is_the_numerators_t_interval():
    from nsr_bench.metrics.stats import ratio_interval

    x = {s: v for s, v in enumerate([9.0, 10.0, 11.0, 10.0, 10.5])}
    got = ratio_interval(x, dict.fromkeys(x, 2.0))
    want = t_interval(list(x.values()))
    assert got.method == "Fieller" and got.n == 5
    assert (got.mean, got.low, got.high) == pytest.approx((want.mean / 2, want.low / 2, want.high / 2))


def test_ratio_interval_is_unbounded_when_the_denominator_may_be_zero():
    from nsr_bench.metrics.stats import ratio_interval

    x = dict(enumerate([5.0, 6.0, 5.5, 6.5]))
    near_zero = ratio_interval(x, dict(enumerate([0.0, 0.5, 0.0, 0.1])))
    assert near_zero.high == math.inf and 0 < near_zero.low < near_zero.mean
    zero = ratio_interval(x, dict.fromkeys(x, 0.0))
    assert zero.mean == zero.low == zero.high == math.inf
    assert math.isnan(ratio_interval({0: 1.0}, {0: 2.0}).low)


def test_sign_test_decides_without_a_variance_from_six_seeds():
    from nsr_bench.metrics.stats import sign_test_p

    assert sign_test_p([0.05] * 5) == pytest.approx(1 / 32)  # above 0.025: 5 seeds cannot decide at 95%
    assert sign_test_p([-0.05] * 6) == pytest.approx(1 / 64)
    assert sign_test_p([1.0, 2.0, -1.0, 3.0]) == pytest.approx(5 / 16)
    assert math.isnan(sign_test_p([0.0, 0.0]))


def test_detectable_effect_is_the_80_percent_power_distance():
    from scipy import stats

    from nsr_bench.metrics.stats import detectable_effect

    x = [0.1, 0.3, 0.2, 0.4, 0.0]
    sd, n = float(np.std(x, ddof=1)), len(x)
    want = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * sd / math.sqrt(n)
    assert detectable_effect(x) == pytest.approx(want) and math.isnan(detectable_effect([1.0]))
