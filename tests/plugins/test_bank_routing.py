"""BankRouting: oracle and agnostic evaluation through the Bank, with the live adapter restored."""

import pytest
import torch

from nsr_bench.nsr.embed import sample_embeddings
from nsr_bench.plugins.bank_routing import BankRouting
from tests.plugins.helpers import make_strategy, nsr_plugins, plugin_of


@pytest.fixture(scope="module", params=["sample", "batch"])
def trained(request, tiny_scenario):
    model, strategy, recorder = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario, routing=request.param))
    bm = tiny_scenario.benchmark()
    for exp in bm.train_stream:
        strategy.train(exp, num_workers=0)
    for mode in ("oracle", "agnostic"):
        strategy.eval(bm.test_stream, num_workers=0, mode=mode)
    return model, strategy, recorder, bm


def test_oracle_evaluation_loads_each_tasks_entry(trained):
    _, _, recorder, _ = trained
    oracle = recorder.rows["oracle"][-1]
    assert len(oracle) == 3 and sum(oracle) / 3 > 0.65 and min(oracle) > 0.5  # 2-class tasks: chance 0.5


def test_task_id_accuracy_counts_samples_routed_to_an_entry_last_trained_on_their_task(trained, tiny_scenario):
    model, strategy, _, _ = trained
    routing = plugin_of(strategy, BankRouting)
    bank, reported = routing.bank, routing.report().summary["task_id_acc"]
    if routing.routing == "batch":  # task-pure test batches: the whole batch's mean feature is easy to route
        assert reported == 1.0
        return
    hits = total = 0
    for task in tiny_scenario.tasks:
        routed = bank.nearest(sample_embeddings(model, task.x_test, tiny_scenario.reference))
        hits += sum(bank[e].meta.last_task == task.task_id for e in routed)
        total += len(routed)
    assert reported == pytest.approx(hits / total)
    assert reported < 1.0  # per sample, the digits' tasks are not perfectly separable by the frozen features


def test_eval_restores_the_active_adapter(trained):
    model, strategy, _, bm = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for mode in ("oracle", "agnostic"):
        strategy.eval(bm.test_stream, num_workers=0, mode=mode)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_an_evicted_task_borrows_the_nearest_stored_adapter_even_with_its_task_id(tiny_scenario):
    """Cap K=1 below the 3 tasks: the evicted tasks are evaluated the way a user would have to."""
    _, strategy, recorder = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario, cap=1))
    bm = tiny_scenario.benchmark()
    for exp in bm.train_stream:
        strategy.train(exp, num_workers=0)
    routing = plugin_of(strategy, BankRouting)
    calls = []
    original = routing._route_samples
    routing._route_samples = lambda s, restrict: calls.append(restrict) or original(s, restrict)
    strategy.eval(bm.test_stream, num_workers=0, mode="oracle")
    evicted = routing.bank.evicted_tasks()
    assert len(routing.bank) == 1 and len(evicted) == 2
    assert calls and not any(calls)  # routed per sample, classified among the task's own classes
    assert all(0.0 <= recorder.rows["oracle"][-1][t] <= 1.0 for t in evicted)
    assert "task id known" in routing.report().summary["evicted_task_eval"]


def test_an_entry_is_loaded_again_after_the_live_adapter_was_restored(tiny_scenario):
    """An evicted task evaluated after a task whose entry was loaded gives what it gives alone: restoring the
    live adapter for it means the entry loaded before must be loaded again (cap K=2: two entries, one
    evicted task, and the live adapter is only one of the two entries)."""
    _, strategy, recorder = make_strategy(tiny_scenario, nsr_plugins(tiny_scenario, cap=2))
    bm = tiny_scenario.benchmark()
    for exp in bm.train_stream:
        strategy.train(exp, num_workers=0)
    bank = plugin_of(strategy, BankRouting).bank
    (evicted,) = bank.evicted_tasks()
    strategy.eval([bm.test_stream[evicted]], num_workers=0, mode="oracle")
    alone = recorder.rows["oracle"][-1][evicted]
    for kept in sorted({t for e in bank.entries.values() for t in e.meta.tasks}):
        strategy.eval([bm.test_stream[kept], bm.test_stream[evicted]], num_workers=0, mode="oracle")
        assert recorder.rows["oracle"][-1][evicted] == alone


def test_a_test_set_is_embedded_once_per_cell_with_the_same_routing(trained, monkeypatch):
    """Routing keys are frozen features: later evaluations look them up instead of recomputing them, and
    route (and count) exactly as the first one did."""
    import nsr_bench.plugins.bank_routing as module

    _, strategy, recorder, bm = trained
    routing = plugin_of(strategy, BankRouting)
    if routing.routing == "batch":
        return
    strategy.eval(bm.test_stream, num_workers=0, mode="agnostic")
    first = (recorder.rows["agnostic"][-1], routing.report().summary["task_id_acc"])
    calls = []
    monkeypatch.setattr(module, "sample_embeddings", lambda *a, **k: calls.append(a) or sample_embeddings(*a, **k))
    strategy.eval(bm.test_stream, num_workers=0, mode="agnostic")
    assert calls == []  # every test set's keys were computed by an earlier evaluation
    assert (recorder.rows["agnostic"][-1], routing.report().summary["task_id_acc"]) == first
    assert routing.routes_by_mode()


def test_one_pass_records_both_modes_as_two_passes_do(tiny_scenario):
    """Without a plugin that routes by mode, the oracle pass's outputs give the agnostic row too."""
    from nsr_bench.plugins.reporting import EVALUATION_MODES, modes_differ
    from nsr_bench.strategies import carry
    from nsr_bench.strategies.contract import BuildContext

    build = lambda model: carry.build(carry.Params(rank=2), BuildContext(model, tiny_scenario, 0, "cpu"))  # noqa: E731
    _, strategy, recorder = make_strategy(tiny_scenario, build)
    assert not modes_differ(strategy.plugins)
    bm = tiny_scenario.benchmark()
    strategy.train(bm.train_stream[0], num_workers=0)
    for mode in EVALUATION_MODES:
        strategy.eval(bm.test_stream, num_workers=0, mode=mode)
    strategy.eval(bm.test_stream, num_workers=0, mode="oracle", record=EVALUATION_MODES)
    assert recorder.rows["oracle"][-1] == recorder.rows["oracle"][-2]
    assert recorder.rows["agnostic"][-1] == recorder.rows["agnostic"][-2]
    assert recorder.rows["oracle"][-1] != recorder.rows["agnostic"][-1]  # the masks differ, so do the rows
