"""Every strategy reports the memory it keeps beyond the backbone and the live model (``memory_mb``)."""

import pytest
import torch

from nsr_bench import registry
from nsr_bench.execution import execute_cell
from nsr_bench.resolution import resolve_cell

MEMORYLESS = {"fresh", "carry", "naive"}


@pytest.mark.parametrize("name", sorted(registry.strategies()))
def test_memory_is_reported_by_every_strategy_that_keeps_state(name):
    summary = execute_cell(resolve_cell("digits_cyclic", name, 0, "cpu", test=True))[0]
    if name in MEMORYLESS:
        assert summary["memory_mb"] == 0
    else:
        assert summary["memory_mb"] > 0


def test_a_replay_buffer_costs_its_samples_priced_at_their_storage_dtype():
    from avalanche.benchmarks.utils import AvalancheDataset
    from avalanche.training.storage_policy import ReservoirSamplingBuffer
    from torch.utils.data import TensorDataset

    from nsr_bench.plugins.replay import Replay
    from nsr_bench.plugins.storage import input_storage
    from tests.plugins.test_storage import uint8_images

    n, shape = 37, (3, 5, 7)
    x = uint8_images(n, shape)
    plugin = Replay(100, sample_bytes=input_storage([x], 255).sample_bytes(x))
    group = plugin.storage_policy.buffer_groups[0] = ReservoirSamplingBuffer(100)
    group.buffer = AvalancheDataset([TensorDataset(x, torch.zeros(n, dtype=torch.long))])
    assert plugin.report().retained_bytes == n * (3 * 5 * 7 * 1 + 8 + 8)  # uint8 pixels, int64 labels


def test_a_byte_budget_sizes_the_replay_buffer():
    from nsr_bench.strategies import replay

    assert replay.buffer_size(replay.Params(budget_mb=0.01), 80) == 125  # 10^4 // 80
    assert replay.buffer_size(replay.Params(), 80) == replay.DEFAULT_MEM_SIZE
    with pytest.raises(ValueError, match="one of them"):
        replay.Params(mem_size=10, budget_mb=0.01)
    summary = execute_cell(resolve_cell("digits_cyclic", "replay[budget_mb=0.01]", 0, "cpu", test=True))[0]
    assert summary["memory_mb"] == pytest.approx(125 * 80 / 1e6)  # digits: 1 x 8 x 8 uint8 grey levels


def test_a_class_balanced_buffer_smaller_than_the_classes_is_refused_with_the_budget_it_needs():
    cell = resolve_cell("digits_cyclic", "replay_matched[budget_mb=0.0004]", 0, "cpu", test=True)  # 5 samples
    with pytest.raises(ValueError, match=r"holds no sample of most of the scenario's \d+ classes; give at least"):
        execute_cell(cell)
