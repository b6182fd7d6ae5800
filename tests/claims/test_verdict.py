"""Verdicts on hand-made cells (no training): reproduced, not reproduced, inconclusive, untestable here."""

import math

import numpy as np
import pytest

from nsr_bench.claims.audit import format_table, judge_row, table_rows
from nsr_bench.claims.protocol import Row, load_protocol
from nsr_bench.claims.verdict import judge

SEEDS = range(5)


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in load_protocol().claims}


def cells(**per_strategy):
    """strategy -> {seed: summary} from keyword lists of per-seed values of one metric per strategy."""
    name = per_strategy.pop("metric")
    return {s: {seed: {name: v} for seed, v in zip(SEEDS, values, strict=True)}
            for s, values in per_strategy.items()}


def test_recovery_ratio_reproduced_not_reproduced_and_inconclusive(claims):
    claim = claims["recovery_10x"]
    nsr = [1.0, 1.05, 0.95, 1.0, 1.0]
    fast = judge(claim, "s", "resample", cells(metric="recovery_steps_mean", nsr=nsr, fresh=[30] * 5,
                                               carry=[10, 11, 12, 10, 11]))
    assert fast.verdict == "reproduced" and fast.measured == pytest.approx(54 / 5 / 1.0)
    assert fast.ci[0] > 6.667 and "carry (the lowest mean of fresh, carry; each judged)" in fast.comparison
    slow = judge(claim, "s", "resample", cells(metric="recovery_steps_mean", nsr=nsr, carry=[3, 3.1, 2.9, 3, 3]))
    assert slow.verdict == "not reproduced" and slow.ci[1] < 6.667
    noisy = judge(claim, "s", "resample", cells(metric="recovery_steps_mean", nsr=[1, 1.5, 0.5, 2, 1],
                                                carry=[2, 20, 5, 15, 8]))
    assert noisy.verdict == "inconclusive" and noisy.ci[0] < 6.667 < noisy.ci[1]


def test_difference_claims_use_the_best_comparator_and_a_paired_test(claims):
    claim = claims["five_datasets_highest_acc"]
    got = judge(claim, "s", "resample", cells(metric="acc", nsr=[0.90, 0.91, 0.92, 0.90, 0.91],
                                              gem=[0.85, 0.86, 0.86, 0.84, 0.85], fresh=[0.6] * 5))
    assert got.verdict == "reproduced" and got.measured == pytest.approx(0.056)
    assert "gem (the highest mean of" in got.comparison and "; paired t-test of the two sides" in got.comparison
    behind = judge(claim, "s", "resample", cells(metric="acc", nsr=[0.80, 0.81, 0.80, 0.82, 0.80],
                                                 isolated=[0.9] * 5))
    assert behind.verdict == "not reproduced" and behind.ci[1] < 0
    equal = judge(claims["similarity_vs_rl_acc"], "s", "drift",
                  cells(metric="acc", nsr=[0.9, 0.8, 0.85, 0.95, 0.7], rl=[0.85, 0.86, 0.84, 0.9, 0.8]))
    assert equal.verdict == "inconclusive"  # its interval holds both "within 0.01" and "not within"


def test_untestable_without_data_or_comparator_or_when_zero_by_construction(claims):
    missing = judge_row(Row(claims["recovery_10x"], "split_cifar100_cyclic", "resample", "cifar100 is not here"),
                        store=None, failed={})
    assert missing.verdict == "untestable here" and "cifar100" in missing.reason and missing.n == 0
    no_rl = judge(claims["similarity_vs_rl_recovery"], "s", "resample",
                  cells(metric="recovery_steps_mean", nsr=[0.0] * 5))
    assert no_rl.verdict == "untestable here" and "rl" in no_rl.reason
    memory = judge(claims["bank_mb_per_task"], "s", "resample", cells(metric="bank_mb_per_task", nsr=[0.29] * 5))
    assert memory.verdict == "untestable here" and memory.measured == pytest.approx(0.29)


def test_one_seed_is_inconclusive_not_a_verdict(claims):
    got = judge(claims["five_datasets_least_forgetting"], "s", "resample",
                {"nsr": {0: {"forgetting": 0.0}}, "fresh": {0: {"forgetting": 0.3}}})
    assert got.verdict == "inconclusive" and got.n == 1 and "at least 2 seeds" in got.reason


def test_theorem1_linear_is_not_reproduced_by_flat_regret(claims):
    claim = claims["theorem1_memoryless_linear"]
    assert claim.params == {"cycles": 6}
    linear = judge(claim, "s", "resample", cells(metric="late_regret_gap", fresh=[0.20, 0.22, 0.19, 0.21, 0.2],
                                                  carry=[0.10, 0.12, 0.09, 0.11, 0.1]))
    assert linear.verdict == "reproduced" and "against each of the 2" in linear.reason
    assert linear.measured == pytest.approx(0.104) and "carry (the lowest mean" in linear.comparison
    # one memoryless rule that stops paying refutes "any memoryless policy"
    one_flat = judge(claim, "s", "resample", cells(metric="late_regret_gap", fresh=[0.20, 0.22, 0.19, 0.21, 0.2],
                                                    carry=[0.001, 0.003, 0.0, 0.002, 0.001]))
    assert one_flat.verdict == "not reproduced" and one_flat.reason.startswith("carry:")
    assert "carry (against which the claim fails; each of fresh, carry judged)" in one_flat.comparison
    # perfectly flat regret (float noise of 4e-16): zero spread is no evidence for growth, and never "reproduced"
    flat = judge(claim, "s", "resample", cells(metric="late_regret_gap", carry=[4e-16] * 5))
    assert flat.verdict == "inconclusive" and "sign test" in flat.reason and "6 needed" in flat.reason
    six = {"carry": {seed: {"late_regret_gap": 0.0} for seed in range(6)}}
    assert judge(claim, "s", "resample", six).verdict == "not reproduced"


def test_late_regret_gap_needs_five_cycles(claims):
    three = judge(claims["theorem1_bank_flat"], "s", "resample", cells(metric="acc", nsr=[0.9] * 5))
    assert three.verdict == "untestable here" and "at least 5 cycles" in three.reason


def test_bank_flat_is_an_equivalence_test_with_a_margin(claims):
    claim = claims["theorem1_bank_flat"]
    flat = judge(claim, "s", "resample", cells(metric="late_regret_gap", nsr=[0.004, 0.006, 0.005, 0.003, 0.007]))
    assert flat.verdict == "reproduced" and flat.ci[1] < 0.02
    growing = judge(claim, "s", "resample", cells(metric="late_regret_gap", nsr=[0.05, 0.06, 0.04, 0.05, 0.055]))
    assert growing.verdict == "not reproduced"
    noisy = judge(claim, "s", "resample", cells(metric="late_regret_gap", nsr=[0.0, 0.04, 0.01, 0.03, 0.0]))
    assert noisy.verdict == "inconclusive" and "80% power" in noisy.reason


def test_exact_ties_are_ties_not_verdicts(claims):
    forgetting = judge(claims["five_datasets_least_forgetting"], "s", "resample",
                       cells(metric="forgetting", nsr=[0.0] * 5, isolated=[0.0] * 5,
                             fresh=[0.3, 0.2, 0.3, 0.25, 0.3]))
    assert forgetting.verdict == "tie" and "isolated" in forgetting.reason and forgetting.ci == (0.0, 0.0)
    both_flat = judge(claims["recovery_10x"], "s", "resample",
                      cells(metric="recovery_steps_mean", nsr=[0.0] * 5, carry=[0.0] * 5))
    assert both_flat.verdict == "tie" and both_flat.measured is None
    assert table_rows([both_flat.as_dict()])[0][4:6] == ["-", "-"]  # measured and interval: 0 / 0, not inf
    noise = judge(claims["recovery_10x"], "s", "resample",
                  cells(metric="recovery_steps_mean", nsr=[2.0] * 5, carry=[2.0 + 1e-15] * 5))
    assert noise.verdict == "tie"


def test_a_constant_difference_is_decided_by_the_sign_test(claims):
    claim = claims["similarity_vs_rl_acc"]
    five = judge(claim, "s", "drift", cells(metric="acc", nsr=[0.85, 0.9, 0.8, 0.95, 0.7],
                                            rl=[0.80, 0.85, 0.75, 0.90, 0.65]))
    assert five.verdict == "inconclusive" and five.ci == pytest.approx((0.05, 0.05))
    assert "zero spread" in five.reason and "p=0.0312 on 5 seeds" in five.reason
    six = {name: {s: {"acc": base + 0.01 * s} for s in range(6)} for name, base in (("nsr", 0.8), ("rl", 0.75))}
    assert judge(claim, "s", "drift", six).verdict == "not reproduced"


def test_recovery_at_once_on_every_seed_is_evidence_not_untestable(claims):
    at_once = judge(claims["recovery_10x"], "s", "resample",
                    cells(metric="recovery_steps_mean", nsr=[0.0] * 5, carry=[3, 4, 2, 3, 5],
                          fresh=[9, 8, 9, 7, 9]))
    assert at_once.verdict == "reproduced" and at_once.measured == math.inf
    # never recovering on any seed (censored at the horizon, 9) against at once: zero spread, the sign test
    censored = {n: {s: {"recovery_steps_mean": v} for s in range(6)} for n, v in (("nsr", 0.0), ("fresh", 9.0))}
    assert judge(claims["recovery_10x"], "s", "resample", censored).verdict == "reproduced"
    bwt = judge(claims["five_datasets_bwt_9x"], "s", "resample",
                cells(metric="bwt", nsr=[0.0] * 5, fresh=[-0.2, -0.3, -0.25, -0.2, -0.3]))
    assert bwt.verdict == "reproduced" and "by construction" in bwt.reason
    slow = judge(claims["recovery_10x"], "s", "resample",
                 cells(metric="recovery_steps_mean", nsr=[0.0] * 5, carry=[0.0, 0.1, 0.0, 0.0, 0.1]))
    assert slow.verdict == "inconclusive"


def test_highest_acc_keeps_its_false_refutations_at_the_nominal_rate(claims):
    """NSR and 7 comparators of the same true ACC: "not reproduced" must stay <= 5% (picking the best
    comparator by mean and judging it on the same cells gave 8.3%)."""
    claim = claims["five_datasets_highest_acc"]
    names = ["nsr", "isolated", "carry", "ewc", "lwf", "replay", "gem", "cumulative"]
    rng = np.random.default_rng(0)
    refuted = 0
    for _ in range(400):
        seed_effect = rng.normal(0, 0.02, 5)
        values = {n: {s: {"acc": 0.8 + seed_effect[s] + rng.normal(0, 0.01)} for s in SEEDS} for n in names}
        refuted += judge(claim, "s", "resample", values).verdict == "not reproduced"
    assert refuted / 400 <= 0.05


def test_highest_acc_needs_the_lead_over_every_comparator(claims):
    claim = claims["five_datasets_highest_acc"]
    noisy_second = judge(claim, "s", "resample", cells(metric="acc", nsr=[0.90, 0.91, 0.92, 0.90, 0.91],
                                                       gem=[0.85, 0.86, 0.86, 0.84, 0.85],
                                                       lwf=[0.70, 0.99, 0.60, 0.99, 0.75]))
    assert noisy_second.verdict == "inconclusive" and "for nsr / lwf" in noisy_second.reason
    assert "gem (the highest mean of" in noisy_second.comparison


def test_table_prints_every_verdict_with_interval_and_reason(claims):
    v = judge(claims["recovery_10x"], "s", "resample",
              cells(metric="recovery_steps_mean", nsr=[1.0, 1.1, 0.9, 1.0, 1.0], carry=[3, 3.1, 2.9, 3, 3]))
    text = format_table([v.as_dict()])
    assert "recovery_10x" in text and "not reproduced" in text and "Fieller" in text


def test_a_protocol_naming_an_unknown_strategy_is_refused(tmp_path):
    import yaml

    from nsr_bench.config import SpecError
    from nsr_bench.registry import spec_file

    data = yaml.safe_load(spec_file("claims", "paper").read_text())
    data["claims"][0]["denominator"] = {"strategies": ["nsr_v2"]}
    data["claims"][0]["kind"] = "ratio"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"unknown strategies \['nsr_v2'\]"):
        load_protocol(tmp_path / "p.yaml")


def test_the_tables_paired_tests_are_holm_adjusted_and_the_verdicts_kept(claims):
    from nsr_bench.claims.verdict import adjust_for_multiplicity

    claim = claims["five_datasets_highest_acc"]
    clear = judge(claim, "a", "resample", cells(metric="acc", nsr=[0.90, 0.91, 0.92, 0.90, 0.91],
                                                gem=[0.85, 0.86, 0.86, 0.84, 0.85]))
    weak = judge(claim, "b", "resample", cells(metric="acc", nsr=[0.90, 0.80, 0.95, 0.85, 0.91],
                                               gem=[0.85, 0.86, 0.86, 0.84, 0.85]))
    ratio = judge(claims["recovery_10x"], "c", "resample",
                  cells(metric="recovery_steps_mean", nsr=[1, 1.5, 0.5, 2, 1], carry=[2, 20, 5, 15, 8]))
    untested = judge(claim, "d", "resample", cells(metric="acc", nsr=[0.9] * 5))
    table = [clear, weak, ratio, untested]
    raw = [v.p_value for v in table[:3]]
    verdicts = [v.verdict for v in table]
    adjust_for_multiplicity(table)
    assert untested.p_value is None and untested.p_holm is None
    ordered = sorted(range(3), key=lambda i: raw[i])
    assert table[ordered[0]].p_holm == pytest.approx(min(1.0, 3 * raw[ordered[0]]))
    assert all(v.p_holm >= v.p_value for v in table[:3]) and [v.verdict for v in table] == verdicts
    assert "Holm-adjusted over the table's 3 tests" in clear.comparison and clear.comparison.endswith(")")
