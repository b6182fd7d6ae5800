import numpy as np
import pytest
import torch

from nsr_bench.cli import main
from nsr_bench.scenarios.real import heterogeneous, split_cyclic
from tests.scenarios import formats


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return formats.data_root(tmp_path_factory.mktemp("data"))


@pytest.fixture
def with_root(root, monkeypatch):
    monkeypatch.setenv("NSR_DATA_ROOT", str(root))
    return root


def test_split_cyclic_tasks_are_disjoint_and_tagged(with_root):
    sc = split_cyclic("cifar10", tasks=3, classes_per_task=3, cycles=2, samples_per_class=4, test_per_class=3,
                      pretrain_fraction=0.34, pretrain_epochs=1, seed=0)
    classes = [c for t in sc.tasks for c in t.classes]
    assert len(classes) == len(set(classes)) == 9  # a seeded class-to-task assignment, disjoint
    for t in sc.tasks:
        assert set(t.y_train.tolist()) == set(t.classes) == set(t.y_test.tolist()) == set(t.y_val.tolist())
        assert t.x_train.shape[1:] == (3, 32, 32)
    assert sorted(sc.order[:3]) == [0, 1, 2] and sc.order[3:] == sc.order[:3]
    assert sc.recurrence == [0, 0, 0, 1, 1, 1]
    assert sc.info["n_pretrain"] > 0 and sc.info["backbone"]["pretext"] == "rotation-prediction"
    assert sc.info["samples_per_class"] == 4 and sc.info["image_size"] == 32


def test_pretraining_images_are_held_out_from_the_tasks(with_root):
    sc = split_cyclic("mnist", tasks=2, classes_per_task=5, cycles=1, recurrence="same", samples_per_class=4,
                      test_per_class=2, pretrain_fraction=0.2, pretrain_epochs=1, seed=0)
    # ceil(4 / 0.8 (validation) / 0.8 (pre-training)) = 7 loaded per class (6 exist): 1 held out, then 1 of
    # the remaining 5 carved for validation, 4 left for training
    assert sc.info["n_pretrain"] == 10 and sc.info["n_val"] == 10
    assert sum(len(t.y_train) for t in sc.tasks) == 40


def test_gtsrb_validation_takes_whole_tracks_that_training_never_sees(tmp_path, monkeypatch):
    formats.gtsrb_archive(tmp_path, classes=4, per_class=9, frames=3)
    monkeypatch.setenv("NSR_DATA_ROOT", str(tmp_path))
    sc = heterogeneous([{"source": "gtsrb", "classes": 4}, {"source": "gtsrb", "classes": [2, 3]}],
                       samples_per_class=None, test_per_class=3, pretrain_fraction=0.2, pretrain_epochs=1, seed=0)

    def tracks(x):  # the fixture: training image n of class c has the value 10 c + n; tracks of 3 frames
        value = (x[:, 0, 0, 0] * 255).round().long()
        return set(((value // 10) * 100 + (value % 10) // 3).tolist())

    for t in sc.tasks:
        assert set(t.y_val.tolist()) == set(t.classes) and not tracks(t.x_val) & tracks(t.x_train)


def test_heterogeneous_offsets_labels_and_unifies_shapes(with_root):
    sc = heterogeneous([{"source": "mnist", "classes": 3}, {"source": "gtsrb", "classes": [5, 7]},
                        {"source": "cifar10"}], samples_per_class=3, test_per_class=2, image_size=16,
                       pretrain_fraction=0.25, pretrain_epochs=1, seed=0)
    assert [t.classes for t in sc.tasks] == [[0, 1, 2], [3, 4], list(range(5, 15))]
    assert sc.num_classes == 15
    for t in sc.tasks:
        assert t.x_train.shape[1:] == (3, 16, 16) and t.x_test.shape[1:] == (3, 16, 16)
        assert set(t.y_test.tolist()) <= set(t.classes)
    bm = sc.benchmark()
    assert [e.task_label for e in bm.test_stream] == [0, 1, 2]


@pytest.mark.parametrize("call, message", [
    (lambda: split_cyclic("mnist", tasks=6, classes_per_task=2), "cannot make 6 tasks of 2 classes from 10"),
    (lambda: heterogeneous([{"source": "mnist", "classes": 12}]), "has 10 classes"),
    (lambda: heterogeneous([{"sauce": "mnist"}]), "domain 0 must be"),
    (lambda: split_cyclic("mnist", pretrain_fraction=1.0), "pretrain_fraction must be in"),
])
def test_impossible_scenarios_are_rejected(with_root, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_run_on_real_data_end_to_end_and_data_listing(with_root, tmp_path, capsys):
    assert main(["run", "--test", "--json", "--scenario", "five_datasets_offline", "--strategy", "nsr",
                 "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '"scenario": "five_datasets_offline"' in out
    assert main(["data"]) == 0
    listing = capsys.readouterr().out
    assert "split_cifar10_cyclic" in listing and "available" in listing
    assert "five_datasets " in listing and "missing svhn" in listing


def test_missing_data_stops_before_any_training(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NSR_DATA_ROOT", raising=False)
    code = main(["run", "--test", "--scenario", "split_cifar10_cyclic", "--strategy", "nsr", "--strategy",
                 "fresh", "--results", str(tmp_path / "out"), "--data-root", str(tmp_path / "empty")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing data, nothing was run" in err and "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_user_weights_are_loaded_and_foreign_files_rejected(with_root, tmp_path):
    from safetensors.torch import save_file

    from nsr_bench.config import SpecError
    from nsr_bench.models.architectures import SmallCNN

    net = SmallCNN(3, 32)
    torch.manual_seed(5)
    state = {f"backbone.{k}": torch.randn_like(v) for k, v in net.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": state}, tmp_path / "w.pt")
    for path in ("w.safetensors", "w.pt"):
        sc = split_cyclic("cifar10", tasks=1, classes_per_task=2, cycles=1, samples_per_class=2, test_per_class=1,
                          weights=str(tmp_path / path), seed=0)
        assert sc.info["backbone"]["matched"] == len(state) and sc.info["backbone"]["pretext"] is None
        assert torch.equal(sc.backbone.conv1.weight, state["backbone.conv1.weight"])
    save_file({"unrelated": torch.zeros(3)}, str(tmp_path / "bad.safetensors"))
    (tmp_path / "junk.pt").write_bytes(np.random.default_rng(0).bytes(100))
    for bad, message in (("bad.safetensors", "none of its 1 tensors fit"), ("junk.pt", "not a readable")):
        with pytest.raises(SpecError, match=message):
            split_cyclic("cifar10", tasks=1, classes_per_task=2, samples_per_class=2, weights=str(tmp_path / bad))
