"""replay_matched: a class-balanced buffer sized by NSR's largest Bank on the cell's own scenario."""

import pytest

from nsr_bench.claims.memory import backbone, bank_bound, select_layers
from nsr_bench.execution import execute_cell
from nsr_bench.resolution import resolve_cell, strategy_params
from nsr_bench.strategies import replay
from tests.scenarios import formats

CIFAR = "split_cifar10_cyclic[samples_per_class=2,test_per_class=2]"  # the test config on the fake data root


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return formats.data_root(tmp_path_factory.mktemp("data"))


def expected_budget_mb(scenario: str, in_channels: int, image_size: int, classes: int, experiences: int) -> float:
    """The calculator's worst-case Bank for NSR's test settings on a small_cnn stream of equal tasks."""
    nsr = strategy_params("nsr", scenario, test=True)[1]
    net = backbone("small_cnn", in_channels, image_size)
    return bank_bound(net, select_layers(net, None), nsr["rank"], nsr["store_dtype"], nsr["cap"],
                      [classes] * experiences, classes * experiences // 2) / 1e6


@pytest.mark.parametrize("scenario", ["digits_cyclic", "split_gtsrb_cyclic", "five_datasets_offline"])
def test_the_matched_settings_are_nsrs_on_the_same_scenario(scenario):
    for test in (False, True):
        matched = resolve_cell(scenario, "replay_matched", 0, "cpu", test=test).strategy_params["matched"]
        nsr = strategy_params("nsr", scenario, test=test)[1]
        assert matched == {k: nsr[k] for k in replay.MatchedBank.model_fields}
    assert resolve_cell(scenario, "replay_matched[budget_mb=0.5]", 0, "cpu").strategy_params["matched"] is None


def test_the_cell_hash_follows_nsrs_resolved_bank(monkeypatch):
    from nsr_bench import resolution

    before = resolve_cell("digits_cyclic", "replay_matched", 0, "cpu", test=True).hash
    lookup = resolution.lookup

    def larger_nsr(kind, name):
        spec = lookup(kind, name)
        return spec.model_copy(update={"test": {**spec.test, "rank": 3}}) if name == "nsr" else spec

    monkeypatch.setattr(resolution, "lookup", larger_nsr)
    after = resolve_cell("digits_cyclic", "replay_matched", 0, "cpu", test=True)
    assert after.strategy_params["matched"]["rank"] == 3 and after.hash != before


def test_a_matched_budget_needs_nsrs_settings():
    with pytest.raises(ValueError, match="resolve the cell"):
        replay.Params(budget_mb="nsr")
    with pytest.raises(ValueError, match="must be > 0"):
        replay.Params(budget_mb=0.0)


@pytest.mark.parametrize("scenario, shape", [("digits_cyclic", (1, 8, 3, 2, 2)), (CIFAR, (3, 32, 2, 2, 2))])
def test_the_budget_is_nsrs_worst_case_bank_there_and_bounds_nsrs_real_bank(scenario, shape, fake_root,
                                                                            monkeypatch):
    """Digits' and Split-CIFAR-10's test configurations: 3 and 2 tasks of 2 classes, 2 cycles."""
    monkeypatch.setenv("NSR_DATA_ROOT", str(fake_root))
    channels, size, tasks, classes, cycles = shape
    budget = expected_budget_mb(scenario, channels, size, classes, tasks * cycles)
    summary, documents, *_ = execute_cell(resolve_cell(scenario, "replay_matched", 0, "cpu", test=True))
    assert summary["budget_mb"] == pytest.approx(budget)
    assert documents["manifest"]["replay_buffer"]["budget_mb"] == summary["budget_mb"]
    assert 0 < summary["memory_mb"] <= budget
    nsr = execute_cell(resolve_cell(scenario, "nsr", 0, "cpu", test=True))[0]
    assert nsr["bank_mb_total"] <= budget
