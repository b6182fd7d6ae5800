import os
from pathlib import Path

import numpy as np
import pytest
import torch

from nsr_bench.scenarios.cyclic import carve_validation
from nsr_bench.scenarios.sources import DataError, load_source, source_status
from tests.scenarios import formats


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return formats.data_root(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("name, classes", [("mnist", 10), ("fashion_mnist", 10), ("notmnist", 10),
                                           ("cifar10", 10), ("gtsrb", 43)])
def test_official_formats_load_with_shapes_and_labels(root, name, classes):
    split = load_source(name, root, train=True, image_size=32, channels=3)
    assert split.x.shape[1:] == (3, 32, 32) and split.x.dtype == torch.float32
    assert 0.0 <= split.x.min() and split.x.max() <= 1.0
    assert split.num_classes == classes and len(split.x) == len(split.y)
    test = load_source(name, root, train=False, samples_per_class=2)
    assert all((test.y == c).sum() <= 2 for c in test.y.unique())


def test_gtsrb_training_images_carry_their_track_and_other_splits_none(root):
    split = load_source("gtsrb", root, train=True)
    frame = (split.x[:, 0, 0, 0] * 255).round().long() % 10  # the fixture: value 10 class + frame index
    tracks = split.y * 100 + frame // 2  # the fixture: tracks of 2 frames
    assert len(split.groups.unique()) == len(tracks.unique()) == 24
    assert all(len(tracks[split.groups == g].unique()) == 1 for g in split.groups.unique())
    assert load_source("gtsrb", root, train=False).groups is None
    assert load_source("cifar10", root, train=True).groups is None


def test_grey_images_keep_one_channel_and_labels_match_content(root):
    split = load_source("mnist", root, train=True)
    assert split.x.shape[1:] == (1, 28, 28)
    means = torch.stack([split.x[split.y == c].mean() for c in range(10)])
    assert torch.all(means[1:] > means[:-1])  # the fixture encodes the label as brightness


def test_archives_are_extracted_once_per_archive_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))
    small = formats.cifar10_archive(tmp_path / "a", classes=2, per_class=2).parent
    large = formats.cifar10_archive(tmp_path / "b", classes=3, per_class=2).parent
    assert load_source("cifar10", small, train=False).y.unique().numel() == 2
    (extracted,) = [p for p in (tmp_path / "cache" / "data").glob("cifar10-jpeg-*") if p.is_dir()]
    stamp = extracted.stat().st_mtime_ns
    assert load_source("cifar10", small, train=False).y.unique().numel() == 2
    assert extracted.stat().st_mtime_ns == stamp  # reused, not extracted again
    # another archive of the same name never reads the first one's extraction
    assert load_source("cifar10", large, train=False).y.unique().numel() == 3
    assert len([p for p in (tmp_path / "cache" / "data").glob("cifar10-jpeg-*") if p.is_dir()]) == 2


def test_packed_archive_gives_the_pixels_of_the_extracted_files(tmp_path, monkeypatch):
    """CIFAR-10 read from the archive (decoded once into arrays) equals decoding the same files in a folder."""
    import tarfile

    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))
    archive = formats.cifar10_archive(tmp_path / "a", classes=3, per_class=5)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "folder", filter="data")
    for train in (True, False):
        packed = load_source("cifar10", archive.parent, train, samples_per_class=3, seed=1)
        files = load_source("cifar10", tmp_path / "folder", train, samples_per_class=3, seed=1)
        assert torch.equal(packed.x, files.x) and torch.equal(packed.y, files.y)
        assert len(packed.y) == 9 and packed.x.dtype == torch.float32
    (cache,) = [p for p in (tmp_path / "cache" / "data").glob("cifar10-jpeg-*") if p.is_dir()]
    assert sorted(p.name for p in cache.iterdir()) == ["test-images.npy", "test-labels.npy", "train-images.npy",
                                                      "train-labels.npy"]


def test_missing_root_and_missing_dataset_say_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="pass --data-root DIR or set NSR_DATA_ROOT"):
        load_source("mnist", None, train=True)
    with pytest.raises(DataError, match="does not exist"):
        load_source("mnist", tmp_path / "nope", train=True)
    with pytest.raises(DataError, match=r"no MNIST/raw/ idx files"):
        load_source("mnist", tmp_path, train=True)
    with pytest.raises(DataError, match="cannot be downloaded here"):
        load_source("cifar100", tmp_path, train=True)
    with pytest.raises(DataError, match="known sources"):
        load_source("imagenet", tmp_path, train=True)
    assert "cifar10-jpeg.tar.gz" in source_status("cifar10", tmp_path)
    assert source_status("digits", None) is None


def test_corrupt_archive_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))
    good = formats.cifar10_archive(tmp_path / "src", classes=2, per_class=2).read_bytes()
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_source("cifar10", tmp_path, train=True)
    assert list((tmp_path / "cache" / "data").glob("cifar10-jpeg*")) == []  # no half extraction left


@pytest.mark.skipif(not os.environ.get("NSR_DATA_ROOT"), reason="NSR_DATA_ROOT (the shared real data) not set")
@pytest.mark.parametrize("name, classes", [("mnist", 10), ("fashion_mnist", 10), ("notmnist", 10),
                                           ("cifar10", 10), ("gtsrb", 43)])
def test_real_files_under_the_shared_data_root(name, classes):
    root = Path(os.environ["NSR_DATA_ROOT"])
    split = load_source(name, root, train=False, samples_per_class=3, image_size=32, channels=3)
    assert split.num_classes == classes and sorted(split.y.unique().tolist()) == list(range(classes))
    assert split.x.shape == (3 * classes, 3, 32, 32)


@pytest.mark.skipif(not os.environ.get("NSR_DATA_ROOT"), reason="NSR_DATA_ROOT (the shared real data) not set")
def test_real_gtsrb_validation_split_shares_no_track_with_training():
    split = load_source("gtsrb", Path(os.environ["NSR_DATA_ROOT"]), train=True)
    sizes = split.groups.bincount()
    assert sizes.max() <= 30 and all(len(split.y[split.groups == g].unique()) == 1 for g in range(len(sizes)))
    pool, _, val, y_val = carve_validation(torch.arange(len(split.y)), split.y, 0.2, np.random.default_rng(0),
                                           groups=split.groups)
    assert not set(split.groups[pool].tolist()) & set(split.groups[val].tolist())
    assert sorted(y_val.unique().tolist()) == list(range(43))
