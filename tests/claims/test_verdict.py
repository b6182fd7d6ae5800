"""Verdicts on hand-made cells (no training): reproduced, not reproduced, inconclusive, untestable here."""

import math

import pytest

from nsr_bench.claims.audit import format_table, judge_row
from nsr_bench.claims.protocol import Row, load_protocol
from nsr_bench.claims.verdict import judge, metric

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
    assert fast.ci[0] > 6.667 and "carry (the lowest mean of fresh, carry)" in fast.comparison
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
    bwt = judge(claims["five_datasets_bwt_9x"], "s", "resample",
                cells(metric="bwt", nsr=[0.0] * 5, fresh=[-0.2, -0.3, -0.25, -0.2, -0.3]))
    assert bwt.verdict == "untestable here" and "by construction" in bwt.reason and bwt.measured == math.inf
    memory = judge(claims["bank_mb_per_task"], "s", "resample", cells(metric="bank_mb_per_task", nsr=[0.29] * 5))
    assert memory.verdict == "untestable here" and memory.measured == pytest.approx(0.29)


def test_one_seed_is_inconclusive_not_a_verdict(claims):
    got = judge(claims["five_datasets_least_forgetting"], "s", "resample",
                {"nsr": {0: {"forgetting": 0.0}}, "fresh": {0: {"forgetting": 0.3}}})
    assert got.verdict == "inconclusive" and got.n == 1 and "at least 2 seeds" in got.reason


def test_theorem1_reads_the_slope_of_cumulative_regret(claims):
    linear = {"regret_per_cycle": [5.0, 5.0, 5.0]}
    assert metric(linear, "regret_slope") == pytest.approx(5.0)
    assert metric({"regret_per_cycle": [5.0]}, "regret_slope") is None
    flat = judge(claims["theorem1_bank_flat"], "s", "resample", {
        "nsr": {s: {"regret_per_cycle": [8.0, 0.1 * (s % 2), 0.1]} for s in SEEDS},
        "carry": {s: {"regret_per_cycle": [6.0, 5.0 + 0.2 * s, 5.0]} for s in SEEDS}})
    # cumulative regret: NSR pays in the first cycle only (mean slope 0.07), carry 5.2 more every cycle
    assert flat.verdict == "reproduced" and flat.measured == pytest.approx(0.07 / 5.2)
    assert "nsr / carry" in flat.comparison
    growing = judge(claims["theorem1_bank_flat"], "s", "resample", {
        "nsr": {s: {"regret_per_cycle": [8.0, 2.0 + 0.1 * s, 2.0]} for s in SEEDS},
        "carry": {s: {"regret_per_cycle": [6.0, 5.0 + 0.2 * s, 5.0]} for s in SEEDS}})
    assert growing.verdict == "not reproduced"


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
