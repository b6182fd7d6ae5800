import numpy as np
import pytest
import torch

from nsr_bench.scenarios.cyclic import carve_validation, cyclic_order, split_classes


def test_fixed_cyclic_order_and_recurrence_tags():
    order, rec = cyclic_order(3, 2)
    assert order == [0, 1, 2, 0, 1, 2]
    assert rec == [0, 0, 0, 1, 1, 1]
    seeded, _ = cyclic_order(4, 3, rng=np.random.default_rng(3))  # one seeded permutation, every cycle
    assert seeded[:4] == seeded[4:8] == seeded[8:] and sorted(seeded[:4]) == [0, 1, 2, 3]


def test_shuffled_cycles_are_permutations():
    order, rec = cyclic_order(4, 3, shuffle=True, rng=np.random.default_rng(1))
    for c in range(3):
        assert sorted(order[4 * c:4 * c + 4]) == [0, 1, 2, 3]
    assert rec == [0] * 4 + [1] * 4 + [2] * 4


def test_impossible_splits_are_rejected():
    with pytest.raises(ValueError, match="cannot make 6 tasks of 2 classes from 10"):
        split_classes(list(range(10)), 6, 2)
    with pytest.raises(ValueError, match=">= 1 task"):
        cyclic_order(0, 2)


def test_digits_tasks_are_disjoint_and_tagged(tiny_scenario):
    sc = tiny_scenario
    classes = [c for t in sc.tasks for c in t.classes]
    assert len(classes) == len(set(classes)) == 6 and all(len(t.classes) == 2 for t in sc.tasks)
    for t in sc.tasks:
        assert set(t.y_train.tolist()) == set(t.classes) == set(t.y_test.tolist()) == set(t.y_val.tolist())
        assert t.x_train.shape[1:] == (1, 8, 8)
    assert [len(y) for _, y in sc.train_data] == [80] * 6  # 40 per class per occurrence
    bm = sc.benchmark()
    assert [e.task_label for e in bm.train_stream] == sc.order and sorted(sc.order[:3]) == [0, 1, 2]
    assert sc.order[:3] == sc.order[3:]
    assert [e.recurrence for e in bm.train_stream] == [0, 0, 0, 1, 1, 1]
    assert [e.task_label for e in bm.test_stream] == [0, 1, 2]


def test_backbone_pretraining_data_is_disjoint_and_cached(tiny_scenario):
    from nsr_bench.scenarios.digits import digits_cyclic

    info = tiny_scenario.info
    assert info["n_pretrain"] + info["n_pool"] + info["n_val"] + info["n_test"] <= 1797
    again = digits_cyclic(tasks=3, cycles=2, samples_per_class=40, pretrain_epochs=3, seed=0)
    assert again.info["backbone"]["loaded_from_cache"] is True
    for a, b in zip(again.backbone.state_dict().values(), tiny_scenario.backbone.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_backbone_cache_is_keyed_by_the_pretraining_device(tiny_scenario):
    """A backbone pre-trained on one device type is never silently reused for another: the device is
    part of the recipe (and so of the cache key); ``meta`` stands in for an accelerator here."""
    from nsr_bench.models.pretraining import obtain_backbone

    x = torch.zeros(4, 1, 8, 8)
    _, _, on_cpu = obtain_backbone("small_cnn", x, "zeros", epochs=1)
    from nsr_bench.memo import device_name

    assert on_cpu["device"] == device_name("cpu") == tiny_scenario.info["backbone"]["device"]
    with pytest.raises(NotImplementedError):  # a different key: a miss, so it tries to pre-train on meta
        obtain_backbone("small_cnn", x, "zeros", epochs=1, device="meta")


def test_backbone_cache_is_keyed_by_the_cpu_thread_count():
    """A backbone pre-trained with 2 threads has other bits than with 1: it must not be reused for a
    1-thread cell (this made a cell's numbers depend on what ran before it in the process)."""
    from nsr_bench.models.pretraining import obtain_backbone

    x = torch.zeros(4, 1, 8, 8)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        _, _, one = obtain_backbone("small_cnn", x, "zeros-threads", epochs=1)
        torch.set_num_threads(2)
        _, _, two = obtain_backbone("small_cnn", x, "zeros-threads", epochs=1)
    finally:
        torch.set_num_threads(threads)
    assert (one["threads"], two["threads"]) == (1, 2)
    assert one["cache_key"] != two["cache_key"] and not two["loaded_from_cache"]


def test_val_per_class_keeps_part_of_the_same_split_and_changes_nothing_else():
    x, y = torch.arange(100.0)[:, None], torch.tensor([0] * 50 + [1] * 50)
    rng_full, rng_capped = np.random.default_rng(3), np.random.default_rng(3)
    full = carve_validation(x, y, 0.4, rng_full)
    capped = carve_validation(x, y, 0.4, rng_capped, per_class=5)
    assert torch.equal(full[0], capped[0]) and torch.equal(full[1], capped[1])  # the same pool
    assert set(capped[2].flatten().tolist()) < set(full[2].flatten().tolist())
    assert capped[3].bincount().tolist() == [5, 5]
    assert rng_full.random() == rng_capped.random()  # later draws (orders, occurrences) are unchanged
    with pytest.raises(ValueError, match="val_per_class"):
        carve_validation(x, y, 0.4, np.random.default_rng(3), per_class=0)


def grouped_classes():
    """Samples 0..49: class 0 in 10 tracks of 5 frames; samples 50..73: class 1 in 6 tracks of 4 frames."""
    y = torch.tensor([0] * 50 + [1] * 24)
    groups = torch.cat([torch.arange(50) // 5, 10 + torch.arange(24) // 4])
    return torch.arange(74.0)[:, None], y, groups


def test_grouped_validation_keeps_every_track_on_one_side_stratified_and_seeded():
    x, y, groups = grouped_classes()
    x_pool, y_pool, x_val, y_val = carve_validation(x, y, 0.2, np.random.default_rng(0), groups=groups)
    pool_tracks, val_tracks = (set(groups[v.flatten().long()].tolist()) for v in (x_pool, x_val))
    assert not pool_tracks & val_tracks and len(pool_tracks | val_tracks) == 16
    assert y_val.bincount().tolist() == [10, 4]  # 20% of each class, in whole tracks: 2 of 5 frames, 1 of 4
    assert len(y_pool) + len(y_val) == len(y)
    again = carve_validation(x, y, 0.2, np.random.default_rng(0), groups=groups)
    assert torch.equal(again[2], x_val)
    other = [set(groups[carve_validation(x, y, 0.2, np.random.default_rng(s), groups=groups)[2].flatten()
                        .long()].tolist()) for s in range(1, 6)]
    assert any(tracks != val_tracks for tracks in other)  # the seed draws which tracks


def test_grouped_validation_caps_within_its_tracks_and_needs_two_tracks_per_class():
    x, y, groups = grouped_classes()
    full = carve_validation(x, y, 0.2, np.random.default_rng(4), groups=groups)
    capped = carve_validation(x, y, 0.2, np.random.default_rng(4), per_class=3, groups=groups)
    assert torch.equal(full[0], capped[0])
    assert set(capped[2].flatten().tolist()) < set(full[2].flatten().tolist())
    assert capped[3].bincount().tolist() == [3, 3]
    with pytest.raises(ValueError, match="class 1 has 1 groups of near-duplicates"):
        carve_validation(x, y, 0.2, np.random.default_rng(4), groups=torch.where(y == 1, 99, groups))
