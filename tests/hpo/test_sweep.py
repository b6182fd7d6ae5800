import json
import shutil
from pathlib import Path

import pytest

from nsr_bench.config import SpecError
from nsr_bench.hpo.sweep import pareto_front, suggest, sweep, write_best
from nsr_bench.results.store import ResultsStore

ROOT = Path(__file__).resolve().parents[2]


def test_search_space_entries_map_to_optuna_suggestions():
    import optuna

    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = suggest(trial, {"rank": {"type": "int", "low": 2, "high": 16, "log": True},
                             "energy": {"type": "float", "low": 0.8, "high": 1.0},
                             "eviction": {"choices": ["lru", "fifo"]}})
    assert 2 <= params["rank"] <= 16 and 0.8 <= params["energy"] <= 1.0 and params["eviction"] in ("lru", "fifo")
    with pytest.raises(SpecError, match="search space entry 'x'"):
        suggest(trial, {"x": {"low": 1}})


def test_sweep_prunes_stores_every_trial_and_resumes(tmp_path):
    from optuna.trial import TrialState

    store = ResultsStore(tmp_path)
    study = sweep("nsr", "digits_cyclic", 6, store, pruner="strict", test=True)
    states = [t.state for t in study.trials]
    assert len(states) == 6 and states.count(TrialState.PRUNED) >= 1
    completed = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert completed and all(store.done(t.user_attrs["cell"]) for t in completed)
    assert all(store.summary(t.user_attrs["cell"])["acc_val"] == t.value for t in completed)
    pruned_runs = [r for r in store.table("runs") if r["status"] == "pruned"]
    assert len(pruned_runs) == states.count(TrialState.PRUNED)
    first = [(t.number, t.params) for t in study.trials]
    resumed = sweep("nsr", "digits_cyclic", 8, store, pruner="strict", test=True)
    assert resumed.study_name == study.study_name and len(resumed.trials) == 8
    assert [(t.number, t.params) for t in resumed.trials[:6]] == first


def test_multi_objective_sweep_returns_a_non_dominated_front(tmp_path):
    from optuna.trial import TrialState

    study = sweep("nsr", "digits_cyclic", 5, ResultsStore(tmp_path), objectives=("acc_val", "bank_mb_total"),
                  test=True)
    front = pareto_front(study)
    everything = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert front

    def dominates(a, b):  # maximise acc, minimise MB
        return (a.values[0] >= b.values[0] and a.values[1] <= b.values[1]) and a.values != b.values

    assert not any(dominates(other, t) for t in front for other in everything)
    non_dominated = [o for o in everything if not any(dominates(x, o) for x in everything)]
    assert {t.number for t in front} == {t.number for t in non_dominated}


def test_write_best_records_per_scenario_settings(tmp_path, monkeypatch):
    (tmp_path / "strategies").mkdir()
    shutil.copy(ROOT / "strategies" / "carry.yaml", tmp_path / "strategies" / "carry.yaml")
    monkeypatch.chdir(tmp_path)
    path = write_best("carry", "digits_cyclic", {"rank": 8}, {"study": "s1", "trials": 12})
    assert path.resolve() == (tmp_path / "strategies" / "carry.yaml").resolve()
    write_best("carry", "split_cifar10_cyclic", {"rank": 3})
    from nsr_bench.resolution import resolve_cell, tuning_provenance

    assert resolve_cell("digits_cyclic", "carry", 0, "cpu").strategy_params["rank"] == 8
    assert resolve_cell("digits_cyclic", "carry", 0, "cpu", tuned=False).strategy_params["rank"] == 4
    text = path.read_text()
    assert "# tuned with the same trial budget" in text  # comments survive
    assert "split_cifar10_cyclic: {rank: 3}" in text and "digits_cyclic: {rank: 8}" in text
    tuned = tuning_provenance(resolve_cell("digits_cyclic", "carry", 0, "cpu"))
    assert tuned == {"status": "tuned", "settings": {"rank": 8}, "sweep": {"study": "s1", "trials": 12},
                     "tuned_on": "digits_cyclic"}
    assert tuning_provenance(resolve_cell("digits_cyclic", "carry[rank=5]", 0, "cpu"))["status"] == "untuned"


def test_a_scenario_tuned_on_another_takes_its_best_settings(tmp_path, monkeypatch):
    import yaml

    (tmp_path / "strategies").mkdir()
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "strategies" / "carry.yaml", tmp_path / "strategies" / "carry.yaml")
    longer = {**yaml.safe_load((ROOT / "scenarios" / "digits_cyclic.yaml").read_text()),
              "name": "digits_longer", "tuned_on": "digits_cyclic"}
    (tmp_path / "scenarios" / "digits_longer.yaml").write_text(yaml.safe_dump(longer))
    monkeypatch.chdir(tmp_path)
    write_best("carry", "digits_cyclic", {"rank": 8}, {"study": "s1"})
    from nsr_bench.resolution import resolve_cell, tuning_provenance

    cell = resolve_cell("digits_longer", "carry", 0, "cpu")
    assert cell.strategy_params["rank"] == 8
    assert tuning_provenance(cell) == {"status": "tuned", "settings": {"rank": 8}, "sweep": {"study": "s1"},
                                       "tuned_on": "digits_cyclic"}


def test_sweeps_tune_from_the_defaults_not_from_earlier_best_settings(tmp_path, monkeypatch):
    (tmp_path / "strategies").mkdir()
    shutil.copy(ROOT / "strategies" / "carry.yaml", tmp_path / "strategies" / "carry.yaml")
    monkeypatch.chdir(tmp_path)
    write_best("carry", "digits_cyclic", {"rank": 8, "embed_samples": 7})  # embed_samples is not searched
    store = ResultsStore(tmp_path)
    study = sweep("carry", "digits_cyclic", 1, store, test=True)
    manifest = store.cell(study.trials[0].user_attrs["cell"])["manifest"]
    manifest = json.loads(manifest) if isinstance(manifest, str) else manifest
    assert manifest["cell"]["strategy_params"]["embed_samples"] == 64
    assert manifest["tuning"]["status"] == "untuned"


def test_provenance_names_the_study_scenario_code_and_budget(tmp_path):
    from nsr_bench.hpo.sweep import provenance
    from nsr_bench.memo import code_digest

    study = sweep("carry", "digits_cyclic[cycles=1]", 2, ResultsStore(tmp_path), pruner="none", test=True)
    record = provenance(study, "digits_cyclic[cycles=1]", "acc_val", 0, 0, "none")
    assert record["study"] == study.study_name and record["scenario"] == "digits_cyclic[cycles=1]"
    assert record["trials"] == 2 and record["pruned"] == 0 and record["code"] == code_digest("nsr_bench.hpo.sweep")
    assert record["value"] == round(study.best_value, 6)


def test_strategies_without_a_search_space_are_refused(tmp_path):
    with pytest.raises(SpecError, match="empty search_space"):
        sweep("ncm", "digits_cyclic", 2, ResultsStore(tmp_path), test=True)


def test_a_sweep_never_reads_the_test_stream(tmp_path, monkeypatch):
    """The same sweep on a scenario whose test inputs and labels are scrambled picks the same trials, with
    the same values: neither the objective nor the pruning reads the test set."""
    import functools

    import torch

    from nsr_bench.scenarios import digits

    def run(store_dir):
        study = sweep("carry", "digits_cyclic", 3, ResultsStore(store_dir), pruner="median", test=True)
        return [(t.params, t.value, t.state) for t in study.trials]

    clean = run(tmp_path / "clean")
    original = digits.digits_cyclic

    @functools.wraps(original)  # the same parameters, so cells resolve alike
    def scrambled(**kwargs):
        scenario = original(**kwargs)
        for task in scenario.tasks:
            task.x_test = torch.rand_like(task.x_test)
            task.y_test = task.y_test[torch.randperm(len(task.y_test))]
        return scenario

    monkeypatch.setattr(digits, "digits_cyclic", scrambled)
    assert run(tmp_path / "scrambled") == clean


def test_the_recorded_best_is_the_defaults_when_they_beat_every_trial():
    from types import SimpleNamespace

    from nsr_bench.hpo.sweep import best_of
    from nsr_bench.resolution import resolve_cell

    def defaults(name):
        return resolve_cell("digits_cyclic", name, 0, "cpu", tuned=False).strategy_params

    study = SimpleNamespace(best_value=0.728, best_params={"rank": 6, "energy": 0.85})
    nsr = defaults("nsr")
    assert best_of(study, {"acc_val": 0.70}, nsr, "acc_val") == ({"rank": 6, "energy": 0.85}, 0.728, "trial")
    assert best_of(study, {"acc_val": 0.728}, nsr, "acc_val")[2] == "trial"  # a tie keeps the trial
    settings, value, chosen = best_of(study, {"acc_val": 0.788}, nsr, "acc_val")
    assert chosen == "defaults" and value == 0.788
    assert settings == {"rank": 4, "energy": 0.99}
    si = SimpleNamespace(best_value=0.9, best_params={"rank": 6, "si_lambda": 5000.0})
    assert best_of(si, {"acc_val": 0.95}, defaults("si"), "acc_val")[0] == {
        "rank": 4, "si_lambda": 100.0}  # si_lambda's default comes from the Params model, not the spec
    mb = SimpleNamespace(best_value=0.2, best_params={"rank": 6})
    assert best_of(mb, {"memory_mb": 0.1}, nsr, "memory_mb")[2] == "defaults"  # minimised objective


def test_the_sweep_command_shows_its_trials_and_what_it_reused(tmp_path, capsys):
    from nsr_bench.cli import main

    args = ["sweep", "--strategy", "carry", "--scenario", "digits_cyclic[cycles=1]", "--trials", "2", "--test",
            "--pruner", "none", "--results", str(tmp_path)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "sweep carry" in err and "2/2" in err
    assert main(args) == 0  # resumed: nothing left to run
    assert "sweep carry: 0trial" in capsys.readouterr().err
