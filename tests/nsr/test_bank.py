import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from nsr_bench.nsr.bank import BankEntry, BankFileError, EntryMeta, TaskKnowledgeBank
from nsr_bench.nsr.compress import compress


def make_entry(key, task, rank=2, out=6, inp=5, classes=(0, 1), dtype="fp32"):
    g = torch.Generator().manual_seed(task)
    delta = torch.randn(out, rank, generator=g) @ torch.randn(rank, inp, generator=g)
    layers = {"features.fc": compress(delta, rank=rank, dtype=dtype)}
    cast = layers["features.fc"].U.dtype
    head_w = torch.randn(len(classes), out, generator=g).to(cast)
    head_b = torch.randn(len(classes), generator=g).to(cast)
    return BankEntry(torch.as_tensor(key, dtype=torch.float32), layers, head_w, head_b,
                     EntryMeta(tasks=[task], classes=list(classes)))


def test_recall_returns_the_recurring_tasks_entry():
    bank = TaskKnowledgeBank(cap=10)
    keys = torch.eye(4)
    ids = [bank.reserve(make_entry(keys[t], t), now=t) for t in range(4)]
    noisy = keys[2] + 0.1 * torch.tensor([1.0, -1.0, 0.0, 1.0])
    best, sim = bank.recall(noisy, k=1)[0]
    assert best == ids[2] and sim > 0.9
    top = bank.recall(noisy, k=3)
    assert next(i for i, _ in top) == ids[2] and len(top) == 3
    assert top[0][1] >= top[1][1] >= top[2][1]


@pytest.mark.parametrize("policy, victim", [("fifo", 0), ("lru", 2), ("lfu", 2), ("frequency", 2)])
def test_cap_evicts_by_policy(policy, victim):
    bank = TaskKnowledgeBank(cap=3, eviction=policy)
    for t in range(3):
        bank.reserve(make_entry(torch.eye(4)[t], t), now=t)
    for entry_id, now in ((0, 3), (2, 4), (1, 5), (1, 6), (0, 7)):
        bank.touch(entry_id, now)
    # created 0, 1, 2; last use 7, 6, 4; uses 2, 2, 1
    new = bank.reserve(make_entry(torch.eye(4)[3], 3), now=8)
    assert len(bank) == 3 and new in bank
    assert bank.evicted == [victim]


def test_lfu_breaks_ties_by_least_recent_use():
    bank = TaskKnowledgeBank(cap=2, eviction="lfu")
    a = bank.reserve(make_entry(torch.eye(3)[0], 0), now=0)
    b = bank.reserve(make_entry(torch.eye(3)[1], 1), now=1)
    bank.touch(b, now=2)
    bank.touch(a, now=3)
    bank.reserve(make_entry(torch.eye(3)[2], 2), now=4)
    assert bank.evicted == [b]


def recalled_recurrences(policy: str, order: list[int], cap: int) -> int:
    """Replay a task order against a capped Bank: a task whose entry is still there is recalled (used,
    then updated in place), otherwise a new entry is reserved; returns the recalled recurrences."""
    bank, recalled = TaskKnowledgeBank(cap=cap, eviction=policy), 0
    for now, task in enumerate(order):
        entry, new = bank.entry_for_task(task), make_entry(torch.eye(len(set(order)))[task], task)
        if entry is not None:  # as the allocation plugin does: the updated entry keeps its history
            bank.touch(entry, now)
            recalled += 1
            new.meta.uses, new.meta.created = bank[entry].meta.uses, bank[entry].meta.created
        bank.reserve(new, now=now, entry_id=entry)
    return recalled


def test_frequency_eviction_survives_a_cyclic_order_that_defeats_lru():
    order = [0, 1, 2, 3, 4] * 3  # M = 5 tasks, 10 recurrences
    assert recalled_recurrences("lru", order, cap=2) == 0
    assert recalled_recurrences("fifo", order, cap=2) == 0
    frequency = recalled_recurrences("frequency", order, cap=2)
    assert frequency > 0
    assert recalled_recurrences("frequency", order, cap=5) == 10


def test_frequency_breaks_ties_by_evicting_the_newest():
    bank = TaskKnowledgeBank(cap=2, eviction="frequency")
    a = bank.reserve(make_entry(torch.eye(3)[0], 0), now=0)
    b = bank.reserve(make_entry(torch.eye(3)[1], 1), now=1)
    bank.reserve(make_entry(torch.eye(3)[2], 2), now=2)
    assert bank.evicted == [b] and a in bank


def test_cap_never_evicts_the_entry_just_reserved():
    bank = TaskKnowledgeBank(cap=1, eviction="lfu")
    first = bank.reserve(make_entry(torch.eye(3)[0], 0), now=0)
    bank.touch(first, now=1)
    second = bank.reserve(make_entry(torch.eye(3)[1], 1), now=2)
    assert list(bank.entries) == [second]


def test_bytes_match_the_analytical_count():
    out, inp, rank, ncls, dim = 6, 5, 2, 2, 4
    for dtype, size in (("fp32", 4), ("fp16", 2)):
        bank = TaskKnowledgeBank()
        bank.reserve(make_entry(torch.ones(dim), 0, rank, out, inp, dtype=dtype), now=0)
        factors = (out * rank + rank + rank * inp) * size
        head = (ncls * out + ncls) * size
        key = dim * 4
        assert bank.nbytes == factors + head + key


def test_save_load_round_trips_bit_exactly(tmp_path):
    bank = TaskKnowledgeBank(cap=5, eviction="lfu")
    for t in range(3):
        bank.reserve(make_entry(torch.randn(4), t, dtype="fp16" if t else "fp32"), now=t)
    bank.touch(1, now=5)
    path = tmp_path / "bank.safetensors"
    bank.save(path)
    loaded = TaskKnowledgeBank.load(path)
    assert (loaded.cap, loaded.eviction, loaded.evicted) == (bank.cap, bank.eviction, bank.evicted)
    assert loaded.entries.keys() == bank.entries.keys()
    for i, e in bank.entries.items():
        f = loaded[i]
        assert f.meta == e.meta
        for name, t in e.tensors().items():
            assert t.dtype == f.tensors()[name].dtype
            assert torch.equal(t, f.tensors()[name])
    assert loaded.recall(bank[2].key) == bank.recall(bank[2].key)


def test_corrupt_truncated_and_foreign_files_are_rejected(tmp_path):
    bank = TaskKnowledgeBank()
    bank.reserve(make_entry(torch.randn(4), 0), now=0)
    good = tmp_path / "bank.safetensors"
    bank.save(good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(BankFileError, match="corrupt or truncated"):
        TaskKnowledgeBank.load(truncated)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(BankFileError, match="not an nsr-bench Bank"):
        TaskKnowledgeBank.load(foreign)
    with pytest.raises(BankFileError, match="no such Bank file"):
        TaskKnowledgeBank.load(tmp_path / "missing.safetensors")


class _Exploit:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_pickle_is_rejected_without_executing_it(tmp_path):
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = str(marker)
    path = tmp_path / "bank.safetensors"
    path.write_bytes(pickle.dumps(exploit))
    with pytest.raises(BankFileError):
        TaskKnowledgeBank.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("kwargs", [{"cap": 0}, {"eviction": "random"}])
def test_bad_bank_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        TaskKnowledgeBank(**kwargs)


def header_and_tensors(path):
    from safetensors import safe_open

    from nsr_bench.nsr.bank import HEADER_KEY

    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    assert list(meta) == [HEADER_KEY]
    return json.loads(meta[HEADER_KEY]), tensors


def rewrite(tmp_path, document, tensors):
    from nsr_bench.nsr.bank import HEADER_KEY

    path = tmp_path / "rewritten.safetensors"
    save_file(tensors, str(path), metadata={HEADER_KEY: json.dumps(document)})
    return path


def test_a_bank_of_another_format_version_is_rejected(tmp_path):
    from nsr_bench.nsr.bank import BANK_FORMAT

    bank = TaskKnowledgeBank()
    bank.reserve(make_entry(torch.randn(4), 0), now=0)
    bank.save(tmp_path / "bank.safetensors")
    document, tensors = header_and_tensors(tmp_path / "bank.safetensors")
    assert document["format"] == BANK_FORMAT and document["version"] == 2
    with pytest.raises(BankFileError, match="version 99 is not supported"):
        TaskKnowledgeBank.load(rewrite(tmp_path, {**document, "version": 99}, tensors))


def test_a_version_1_bank_with_several_header_keys_still_loads(tmp_path):
    from nsr_bench.nsr.bank import BANK_FORMAT

    bank = TaskKnowledgeBank(cap=3)
    bank.reserve(make_entry(torch.randn(4), 0), now=0)
    bank.save(tmp_path / "bank.safetensors")
    document, tensors = header_and_tensors(tmp_path / "bank.safetensors")
    old = tmp_path / "v1.safetensors"
    save_file(tensors, str(old), metadata={"format": BANK_FORMAT, "version": "1",
                                           "bank": json.dumps(document["bank"])})
    assert TaskKnowledgeBank.load(old).describe() == bank.describe()


def test_the_same_bank_gives_the_same_bytes_in_every_process(tmp_path):
    code = ("import sys, torch\n"
            "sys.path.insert(0, sys.argv[2])\n"
            "from test_bank import make_entry\n"
            "from nsr_bench.nsr.bank import TaskKnowledgeBank\n"
            "bank = TaskKnowledgeBank(cap=4, eviction='lfu')\n"
            "for t in range(3):\n"
            "    bank.reserve(make_entry(torch.eye(4)[t], t), now=t)\n"
            "bank.save(sys.argv[1])\n")
    paths = [tmp_path / f"bank{i}.safetensors" for i in range(2)]
    for path, seed in zip(paths, ("1", "2"), strict=True):  # different hash seeds: different dict orders
        subprocess.run([sys.executable, "-c", code, str(path), str(Path(__file__).parent)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    assert paths[0].read_bytes() == paths[1].read_bytes()


@pytest.mark.parametrize("change, message", [
    (lambda d, t: d["bank"]["entries"]["0"]["ranks"].update({"features.fc": 4}), "header says rank 4"),
    (lambda d, t: t.update({"0/layer.features.fc.S": t["0/layer.features.fc.S"][:1]}), "do not factor shape"),
    (lambda d, t: d["bank"]["entries"]["0"]["layers"].update({"features.fc": [6, 7]}), "do not factor shape"),
    (lambda d, t: t.update({k.replace("0/", "7/"): v.clone() for k, v in list(t.items())}),
     "tensors of other entries"),
    (lambda d, t: d["bank"]["entries"].pop("1"), "tensors of other entries"),
    (lambda d, t: d["bank"]["entries"]["0"]["meta"].update({"classes": [0]}), "head rows 2 and 2 for 1 classes"),
    (lambda d, t: d["bank"].update({"cap": 1}), "above the cap"),
])
def test_metadata_contradicting_the_tensors_is_a_bank_file_error(tmp_path, capsys, change, message):
    from nsr_bench.cli import main

    bank = TaskKnowledgeBank(cap=4)
    for t in range(2):
        bank.reserve(make_entry(torch.eye(4)[t], t), now=t)
    bank.save(tmp_path / "bank.safetensors")
    document, tensors = header_and_tensors(tmp_path / "bank.safetensors")
    change(document, tensors)
    path = rewrite(tmp_path, document, tensors)
    with pytest.raises(BankFileError, match=message):
        TaskKnowledgeBank.load(path)
    assert main(["bank", "inspect", str(path)]) == 2
    assert "Bank metadata is inconsistent with its tensors" in capsys.readouterr().err
