import json

from nsr_bench.plots.data import load
from nsr_bench.plots.figures import headline, reference_name
from nsr_bench.plots.spec import default_spec


def tuned(store, index: int) -> None:
    """Mark stored cell ``index`` as run at its spec's tuned settings for nsr (as its manifest would)."""
    cell = store.cells[index]
    params = json.loads(cell["spec"])["strategy_params"]
    cell["manifest"] = json.dumps({"tuning": {"status": "tuned", "settings": {"distill_lambda": params[
        "distill_lambda"], "rank": params["rank"]}}})


def named(store):
    cells, names, left_out = headline(load(store), default_spec())
    return cells, names, left_out


def test_every_method_and_ablation_variant_is_shown_under_its_name_and_varying_factors(hand_store):
    store = hand_store(*[("digits_cyclic", s, seed, 0.5) for seed in (0, 1) for s in (
        "nsr", "nsr[distill_lambda=0.0]", "fresh", "fresh[bank=true]",
        "ewc", "carry[distill_lambda=2.118270001]")])
    cells, names, left_out = named(store)
    assert left_out == []
    assert names == ["NSR (Bank + similarity) [distill_lambda=1]", "NSR (Bank + similarity) [distill_lambda=0]",
                     "Carry (memoryless)", "Fresh (memoryless) [bank=False]", "Fresh (memoryless) [bank=True]",
                     "EWC"]  # no entry: the name the spec gives the strategy
    assert reference_name(cells) == "NSR (Bank + similarity) [distill_lambda=1]"
    nsr = cells[cells["strategy"] == "nsr"]
    assert nsr["colour"].nunique() == 2 and nsr["dash"].nunique() == 2
    assert cells.loc[cells["strategy"] == "ewc", "colour"].iloc[0].startswith("#")


def test_a_tuned_cell_is_labelled_tuned_and_the_others_untuned(hand_store):
    store = hand_store(*[("digits_cyclic", s, seed, 0.5) for seed in (0, 1)
                         for s in ("nsr", "nsr[distill_lambda=0.51022,rank=3]")])
    tuned(store, 1)
    tuned(store, 3)
    cells, names, _ = named(store)
    # the test settings (rank 2) are not the spec's defaults
    assert names == ["NSR (Bank + similarity) [tuned]", "NSR (Bank + similarity) [untuned]"]
    assert reference_name(cells) == "NSR (Bank + similarity) [tuned]"


def test_render_all_leaves_out_only_sweep_trials(small_store, tmp_path):
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots import render_all

    _, names, left_out = named(small_store)
    assert names == ["NSR (Bank + similarity) [cap=50]", "NSR (Bank + similarity) [cap=1]", "Fresh (memoryless)"]
    assert len(left_out) == 3 and all(label.startswith("carry[") for label in left_out)
    _, skipped, _ = render_all(small_store, OutputFolder(tmp_path, "--out"))
    assert not any("no figure-spec entry selects" in s for s in skipped)
