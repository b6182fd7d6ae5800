import pytest
import torch

from nsr_bench.training.loader import TensorBatchLoader, sample_experience


def test_every_sample_once_per_epoch_with_its_own_label_and_indices():
    x = torch.arange(10.0)[:, None].expand(10, 3).clone()
    y = torch.arange(10)
    loader = TensorBatchLoader(x, y, task=4, batch_size=3, shuffle=True)
    assert len(loader) == 4
    seen = []
    for bx, by, bt in loader:
        assert torch.equal(bx[:, 0].long(), by) and torch.equal(by, loader.indices)
        assert bt.tolist() == [4] * len(by)
        seen += by.tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert loader.indices is None  # no batch is being served any more


def test_shuffle_follows_the_global_seed_and_eval_order_is_fixed():
    x, y = torch.randn(20, 2), torch.arange(20)
    loader = TensorBatchLoader(x, y, 0, 8, shuffle=True)
    torch.manual_seed(1)
    first = [b[1].tolist() for b in loader]
    torch.manual_seed(1)
    assert [b[1].tolist() for b in loader] == first
    assert [v for b in TensorBatchLoader(x, y, 0, 8, shuffle=False) for v in b[1].tolist()] == list(range(20))


def test_bad_batch_size_is_named():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TensorBatchLoader(torch.zeros(2, 1), torch.zeros(2), 0, 0, False)


def test_sample_uses_the_tensors_or_falls_back_to_the_dataset(tiny_scenario):
    exp = tiny_scenario.benchmark().train_stream[0]
    x, y = sample_experience(exp, 16, torch.Generator().manual_seed(0))
    assert x.shape[0] == y.shape[0] == 16
    full_x, full_y = exp.tensors
    rows = {tuple(r.flatten().tolist()): int(c) for r, c in zip(full_x, full_y, strict=True)}
    assert all(rows[tuple(r.flatten().tolist())] == int(c) for r, c in zip(x, y, strict=True))
    del exp.tensors
    x2, y2 = sample_experience(exp, 16, torch.Generator().manual_seed(0))
    assert x2.shape == x.shape and set(y2.tolist()) <= set(full_y.tolist())
