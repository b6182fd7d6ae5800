"""`nsr-bench claims --test` end to end: cells run once and are reused, verdicts stored and reported."""

import json

import pytest

from nsr_bench.claims.protocol import load_protocol, plan
from nsr_bench.claims.verdict import VERDICTS
from nsr_bench.cli import main
from nsr_bench.config import SpecError
from nsr_bench.outputs import OutputFolder
from nsr_bench.results.store import ResultsStore


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    folder = tmp_path_factory.mktemp("claims-audit")
    return folder, main(["claims", "--test", "--results", str(folder), "--json"])


def test_claims_test_gives_a_verdict_per_claim(audited, capsys):
    folder, code = audited
    assert code == 0
    store = ResultsStore(folder)
    stored = store.claims()
    assert {r["claim"] for r in stored} == {c.id for c in load_protocol().claims}
    assert all(r["verdict"] in VERDICTS and r["protocol"] == "paper (test)" for r in stored)
    by_claim = {r["claim"]: r for r in stored}
    assert by_claim["similarity_vs_rl_acc"]["verdict"] == "untestable here"  # rl is not in the test set
    recovery = by_claim["recovery_10x"]
    assert recovery["n"] == 2 and "carry" in recovery["comparison"] and recovery["scenario"] == "digits_cyclic"
    memory = by_claim["bank_mb_per_task"]
    nsr = [json.loads(c["summary"]) for c in store.table("cells") if c["strategy"] == "nsr"
           and json.loads(c["spec"])["scenario_params"]["cycles"] != 6]  # not Theorem 1's 6-cycle cells
    assert memory["measured"] == pytest.approx(sum(s["bank_mb_per_task"] for s in nsr) / len(nsr))
    assert all(s["bank_mb_per_task"] * 2 == pytest.approx(s["bank_mb_total"]) for s in nsr)  # 2 tasks


def test_rerun_reuses_every_cell_and_replaces_the_verdicts(audited, capsys):
    folder, _ = audited
    store = ResultsStore(folder)
    runs, verdicts = len(store.table("runs")), len(store.claims())
    capsys.readouterr()
    assert main(["claims", "--test", "--results", str(folder), "--json"]) == 0
    shown = capsys.readouterr()
    rows = json.loads(shown.out)
    assert f"cells: reused {len(store.table('cells'))}, computed 0" in shown.err
    assert len(store.table("runs")) == runs and len(store.claims()) == verdicts == len(rows)
    assert all(set(r) >= {"claim", "scenario", "paper", "measured", "ci", "n", "verdict", "reason"} for r in rows)


def test_report_carries_the_claims_section(audited, tmp_path):
    from nsr_bench.results.report import write_report

    folder, _ = audited
    md, page = write_report(ResultsStore(folder), OutputFolder(tmp_path, "--out"))
    text = md.read_text()
    assert "## Claims" in text and "recovery_10x" in text and "untestable here" in text
    assert "<h2>Claims" in page.read_text()


def test_full_protocol_plans_drift_columns_and_untestable_rows_without_data(monkeypatch):
    monkeypatch.delenv("NSR_DATA_ROOT", raising=False)
    rows = plan(load_protocol())
    digits = [r for r in rows if r.scenario == "digits_cyclic"]
    assert {r.recurrence for r in digits if r.claim.id == "recovery_10x"} == {"resample", "drift"}
    assert {r.recurrence for r in digits if r.claim.id == "five_datasets_highest_acc"} == {"resample"}
    assert {c.spec.seed for r in digits for c in r.cells} == {0, 1, 2, 3, 4}
    cifar = [r for r in rows if r.scenario == "split_cifar10_cyclic"]
    assert cifar and all(r.missing and not r.cells for r in cifar)


def test_plan_can_be_restricted_to_named_scenarios(monkeypatch):
    monkeypatch.delenv("NSR_DATA_ROOT", raising=False)
    rows = plan(load_protocol(), scenarios=["digits_cyclic"])
    assert rows and {r.scenario for r in rows} == {"digits_cyclic", "digits_cyclic[cycles=6]"}  # Theorem 1's
    with pytest.raises(SpecError, match="is measured on"):
        plan(load_protocol(), scenarios=["no_such_scenario"])
    resample = plan(load_protocol(), scenarios=["digits_cyclic"], recurrences=["resample"])
    assert resample and {r.recurrence for r in resample} == {"resample"}
    assert {r.claim.id for r in resample} == {r.claim.id for r in rows}
    with pytest.raises(SpecError, match="recurrence modes are"):
        plan(load_protocol(), recurrences=["shuffled"])


def test_plan_audits_a_named_variant_and_a_claims_own_parameters(monkeypatch):
    monkeypatch.delenv("NSR_DATA_ROOT", raising=False)
    rows = plan(load_protocol(), scenarios=["digits_cyclic[tasks=3,recurrence=drift]"])
    assert rows and {r.recurrence for r in rows} == {"drift"}  # the variant names its recurrence
    by_claim = {r.claim.id: r for r in rows}
    assert "five_datasets_highest_acc" not in by_claim  # a resample-only claim has no drift row
    assert by_claim["recovery_10x"].scenario == "digits_cyclic[tasks=3]"
    assert by_claim["theorem1_memoryless_linear"].scenario == 'digits_cyclic[cycles=6,tasks=3]'
    assert {c.spec.scenario_params["tasks"] for r in rows for c in r.cells} == {3}
    assert {c.spec.scenario_params["cycles"] for c in by_claim["theorem1_bank_flat"].cells} == {6}
    with pytest.raises(SpecError, match=r"NAME\[key=value"):
        plan(load_protocol(), scenarios=["digits_cyclc[tasks=3]"])
