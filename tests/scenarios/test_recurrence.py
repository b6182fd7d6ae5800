"""Recurrence modes, validation splits and what a seed varies."""

import itertools

import numpy as np
import pytest
import torch

from nsr_bench.scenarios.digits import digits_cyclic
from nsr_bench.scenarios.recurrence import drift, occurrence_indices

SMALL = {"tasks": 3, "cycles": 3, "samples_per_class": 20, "pretrain_epochs": 1}


def rows(x: torch.Tensor) -> set[bytes]:
    return {r.numpy().tobytes() for r in x}


def test_resample_never_repeats_the_previous_occurrences_samples_where_the_pool_allows():
    y = torch.tensor([0] * 10 + [1] * 7)
    draws = occurrence_indices(y, 4, per_class=3, rng=np.random.default_rng(0))
    for a, b in itertools.pairwise(draws):
        assert not set(a) & set(b)
        assert sorted(y[torch.from_numpy(b)].tolist()) == [0, 0, 0, 1, 1, 1]
    tight = occurrence_indices(y, 2, per_class=6, rng=np.random.default_rng(0))
    assert len(set(tight[0]) & set(tight[1])) == 2 + 5  # as few repeats as the pools (10 and 7) allow


@pytest.mark.parametrize("mode", ["same", "resample", "drift"])
def test_recurrence_modes_on_the_embedded_scenario(mode):
    sc = digits_cyclic(**SMALL, recurrence=mode, seed=0)
    for task in range(3):
        occ = [x for (x, _), t in zip(sc.train_data, sc.order, strict=True) if t == task]
        assert len(occ) == 3
        shared = len(rows(occ[0]) & rows(occ[1]))
        if mode == "same":
            assert torch.equal(occ[0], occ[1])
        else:
            assert shared == 0
        val, test = rows(sc.tasks[task].x_val), rows(sc.tasks[task].x_test)
        assert not (val & rows(sc.tasks[task].x_train)) and not (val & test)
    assert sc.info["recurrence"] == mode


def test_drift_grows_with_the_recurrence_and_spares_the_first_occurrence():
    x = torch.rand(16, 1, 8, 8)
    assert torch.equal(drift(x, 0.0, np.random.default_rng(0)), x)
    gaps = [float((drift(x, s, np.random.default_rng(0)) - x).abs().mean()) for s in (0.25, 0.5, 1.0)]
    assert 0 < gaps[0] < gaps[1] < gaps[2]


def test_the_seed_varies_split_assignment_and_order_but_not_the_backbone():
    a, b = digits_cyclic(**SMALL, seed=0), digits_cyclic(**SMALL, seed=1)
    assert [t.classes for t in a.tasks] != [t.classes for t in b.tasks] or a.order != b.order
    assert not torch.equal(a.train_data[0][0], b.train_data[0][0])
    for p, q in zip(a.backbone.state_dict().values(), b.backbone.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    fixed = [digits_cyclic(**SMALL, split_seed=7, seed=s) for s in (0, 1)]
    assert [t.classes for t in fixed[0].tasks] == [t.classes for t in fixed[1].tasks]
    assert fixed[0].order == fixed[1].order and torch.equal(fixed[0].train_data[2][0], fixed[1].train_data[2][0])
    other = digits_cyclic(**SMALL, backbone_seed=1, seed=0)
    assert any(not torch.equal(p, q) for p, q in zip(a.backbone.state_dict().values(),
                                                    other.backbone.state_dict().values(), strict=True))
