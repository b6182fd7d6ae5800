import math

import pytest

from nsr_bench.metrics.stats import holm, paired_test, t_interval
from nsr_bench.metrics.summary import SeedConflict, caption, group, markdown, summarise, table, text

BASE = {"nsr": [0.90, 0.92, 0.95, 0.91, 0.93], "carry": [0.80, 0.85, 0.83, 0.86, 0.81],
        "fresh": [0.89, 0.93, 0.94, 0.90, 0.94]}


def summaries(values=BASE):
    return [("s", label, seed, {"acc": v, "regret": 10 * v, "recovery_steps_mean": None})
            for label, vs in values.items() for seed, v in enumerate(vs)]


def test_rows_carry_t_intervals_and_seed_paired_tests_holm_adjusted_over_the_table():
    rows = {r.label: r for r in summarise(group(summaries()), "nsr", metrics=("acc",))}
    assert rows["nsr"].intervals["acc"] == t_interval(BASE["nsr"]) and rows["nsr"].n == 5
    assert rows["nsr"].tests == {}
    raw = {label: {m: paired_test(dict(enumerate(BASE[label])), dict(enumerate(BASE["nsr"]))).p_value
                   for m in ("acc", "regret")} for label in ("carry", "fresh")}
    expected = holm([raw["carry"]["acc"], raw["carry"]["regret"], raw["fresh"]["acc"], raw["fresh"]["regret"]])
    got = [rows[lab].p_holm[m] for lab in ("carry", "fresh") for m in ("acc", "regret")]
    assert got == pytest.approx(expected)
    assert rows["carry"].tests["acc"].mean_difference == pytest.approx(-0.092)
    assert math.isnan(rows["carry"].p_holm["recovery_steps_mean"])  # no values: nothing tested


def test_pairing_is_by_seed_so_shuffled_seeds_change_the_test():
    shuffled = {**BASE, "carry": BASE["carry"][::-1]}
    a = {r.label: r for r in summarise(group(summaries()), "nsr")}["carry"].tests["acc"].p_value
    b = {r.label: r for r in summarise(group(summaries(shuffled)), "nsr")}["carry"].tests["acc"].p_value
    assert a != pytest.approx(b)


def test_table_and_caption_state_n_method_test_and_correction():
    rows = summarise(group(summaries()), "nsr", metrics=("acc", "regret"))
    head, body = table(rows, metrics=("acc", "regret"))
    assert head[:5] == ["scenario", "strategy", "n", "acc", "regret"] and "Δacc (p)" in head
    half = (t_interval(BASE["carry"]).high - t_interval(BASE["carry"]).low) / 2
    assert body[1][3] == f"{sum(BASE['carry']) / 5:.3f} ± {half:.3f}" and body[0][-1] == ""
    line = caption(rows, "nsr")
    assert "n = 5 seeds" in line and "95% t interval" in line and "paired t-test" in line
    assert "Holm-adjusted over the 4 comparisons" in line
    assert text(head, body).count("\n") == 3 and markdown(head, body).startswith("| scenario")
    assert "Wilcoxon" in caption(summarise(group(summaries()), "nsr", test="wilcoxon"), "nsr")


def test_without_a_reference_the_table_makes_no_comparison():
    rows = summarise(group(summaries()), None)
    assert all(not r.tests for r in rows) and "Δ" not in caption(rows, None)
    assert "Δacc (p)" not in table(rows)[0]


def test_a_second_cell_of_a_seed_is_an_error_naming_both_not_an_overwrite():
    items = [("s", "carry", 0, {"hash": "aaaa", "acc": 0.8}), ("s", "carry", 1, {"hash": "bbbb", "acc": 0.7}),
             ("s", "carry", 0, {"hash": "cccc", "acc": 0.9})]
    with pytest.raises(SeedConflict, match=r"s / carry, seed 0: cells aaaa and cccc"):
        group(items)


def test_the_same_cell_listed_twice_is_one_cell_and_other_rows_are_unchanged():
    cell = {"hash": "aaaa", "acc": 0.8}
    groups = group([("s", "carry", 0, cell), ("s", "carry", 0, dict(cell)), ("s", "nsr", 0, {"acc": 0.9}),
                    ("t", "carry", 0, {"acc": 0.5})])
    assert groups == {("s", "carry"): {0: cell}, ("s", "nsr"): {0: {"acc": 0.9}},
                      ("t", "carry"): {0: {"acc": 0.5}}}


def test_an_interval_past_the_metric_s_possible_values_prints_clipped_bounds():
    spread = {"a": [0.99, 0.40], "b": [0.50, 0.52]}  # two seeds: a's t interval reaches far above 1
    rows = {r.label: r for r in summarise(group(summaries(spread)), None, metrics=("acc",))}
    assert rows["a"].intervals["acc"].high == 1.0 and rows["a"].intervals["acc"].low > -1.0
    (_, a), (_, b) = ((r[1], r[3]) for r in table(list(rows.values()), metrics=("acc",))[1])
    assert a == f"0.695 [{rows['a'].intervals['acc'].low:.3f}, 1.000]" and "±" in b
    assert "clipped to the metric's possible values" in caption(list(rows.values()), None)
