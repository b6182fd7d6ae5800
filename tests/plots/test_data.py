import json

import pytest

from nsr_bench.metrics.summary import SeedConflict
from nsr_bench.plots.data import load
from nsr_bench.plots.figures import headline
from nsr_bench.plots.spec import default_spec
from nsr_bench.results.export import summary_rows

DRIFT, STRONG = "digits_cyclic[recurrence=drift]", "digits_cyclic[recurrence=drift,drift_strength=3.0]"


def rows_of(store):
    return {(r.scenario, r.label): r.n for r in summary_rows(store)[0]}


def test_a_parameter_one_stream_lacks_and_another_sets_makes_two_rows(hand_store):
    store = hand_store(*[(s, "carry", seed, 0.5 + seed / 10) for s in (DRIFT, STRONG) for seed in (0, 1)])
    assert rows_of(store) == {('digits_cyclic[drift_strength=0.5]', "Carry (memoryless)"): 2,
                              ('digits_cyclic[drift_strength=3.0]', "Carry (memoryless)"): 2}
    cells, _, _ = headline(load(store), default_spec())
    assert len(cells) == 4 and cells["stream"].nunique() == 2


def test_a_parameter_set_to_the_builders_default_is_the_same_stream(hand_store):
    default = "digits_cyclic[recurrence=drift,drift_strength=0.5]"  # the builder's default drift strength
    store = hand_store((DRIFT, "carry", 0, 0.5), (default, "carry", 1, 0.6),
                       ("digits_cyclic", "carry", 0, 0.7), ("digits_cyclic", "carry", 1, 0.8))
    assert rows_of(store) == {('digits_cyclic[recurrence="drift"]', "Carry (memoryless)"): 2,
                              ('digits_cyclic[recurrence="resample"]', "Carry (memoryless)"): 2}


def test_strategy_parameters_that_vary_name_the_row(hand_store):
    cells = load(hand_store(("digits_cyclic", "nsr", 0, 0.5), ("digits_cyclic", "nsr[cap=1]", 0, 0.6),
                            ("digits_cyclic", "fresh", 0, 0.4))).cells
    assert list(cells["label"]) == ["nsr[cap=50]", "nsr[cap=1]", "fresh"]
    assert list(cells["stream"]) == ["digits_cyclic"] * 3


def test_cells_run_with_other_thread_counts_are_rows_named_by_them(hand_store):
    store = hand_store(*[(DRIFT, "carry", seed, 0.5, {"threads": t}) for t in (1, 2) for seed in (0, 1)])
    assert rows_of(store) == {("digits_cyclic", f"Carry (memoryless) [threads={t}]"): 2 for t in (1, 2)}


def test_two_cells_of_one_experiment_and_seed_are_an_error_naming_both(hand_store):
    store = hand_store((DRIFT, "carry", 0, 0.5), (DRIFT, "carry", 1, 0.7))
    cell = store.cells[0]
    spec = json.loads(cell["spec"])
    spec["identity"]["code"] = "computed-by-other-code"  # the same experiment and seed, another cell
    summary = {**json.loads(cell["summary"]), "hash": "f" * 16}
    store.cells.insert(1, {**cell, "hash": "f" * 16, "spec": json.dumps(spec), "summary": json.dumps(summary)})
    first, second = (c["hash"] for c in store.table("cells")[:2])
    assert first != second
    with pytest.raises(SeedConflict, match=f"seed 0: cells {first} and {second}"):
        summary_rows(store)
    with pytest.raises(SeedConflict, match="one cell per seed"):
        headline(load(store), default_spec())
