"""A reused cell always equals a fresh computation with the same inputs: threads, weights, data and
code are in the cell's key, and stale cells of other code stay out of tables unless asked for."""

import json
import os
import shutil
import time

import pytest
import torch

from nsr_bench import identity
from nsr_bench.cli import main
from nsr_bench.config import SpecError
from nsr_bench.resolution import resolve_cell
from nsr_bench.results.store import ResultsStore
from nsr_bench.runner import run_cell
from tests.scenarios import formats

METRICS = ("acc", "acc_agnostic", "bwt", "forgetting", "recovery_steps_mean", "regret", "bank_mb_per_task",
           "bank_mb_total")
MNIST_CELL = "split_cifar10_cyclic[source=mnist]"


@pytest.fixture(autouse=True)
def _private_digest_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    """A fabricated MNIST data root whose files are old enough for their digests to be cached."""
    root = tmp_path / "data"
    formats.mnist_like(root, "MNIST")
    old = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    monkeypatch.setenv("NSR_DATA_ROOT", str(root))
    return root


def runs(store: ResultsStore) -> int:
    return len(store.table("runs"))


def test_thread_count_and_code_are_in_the_key_and_the_cell_runs_with_its_threads(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "results")
    one = resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu", test=True, threads=1)
    two = resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu", test=True, threads=2)
    assert one.hash != two.hash and (one.identity.threads, two.identity.threads) == (1, 2)
    before, seen = torch.get_num_threads(), []
    run_cell(two, store, on_experience=lambda i, acc: seen.append(torch.get_num_threads()))
    assert set(seen) == {2} and torch.get_num_threads() == before  # run with its count, then restored
    manifest = json.loads(store.table("cells")[0]["manifest"])
    assert manifest["identity"] == two.identity.model_dump()
    run_cell(two, store)
    assert runs(store) == 1  # same inputs: reused
    run_cell(one, store)
    assert runs(store) == 2  # other thread count: computed, not reused
    monkeypatch.setattr(identity, "cell_code", lambda impl, builder: "other-code")
    edited = resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu", test=True, threads=1)
    assert edited.hash != one.hash
    run_cell(edited, store)
    assert runs(store) == 3  # other code: computed, not reused


def test_a_cell_resolved_with_other_code_does_not_run_here(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "results")
    cell = resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu", test=True)
    monkeypatch.setattr(identity, "cell_code", lambda impl, builder: "other-code")
    with pytest.raises(identity.IdentityError, match="other code"):
        run_cell(cell, store)
    assert runs(store) == 0 and not store.done(cell.hash)


def test_data_content_is_in_the_key_wherever_the_data_lies(mnist_root, tmp_path, monkeypatch):
    cell = resolve_cell(MNIST_CELL, "fresh", seed=0, device="cpu", test=True)
    copy = shutil.copytree(mnist_root, tmp_path / "copy")
    monkeypatch.setenv("NSR_DATA_ROOT", str(copy))
    assert resolve_cell(MNIST_CELL, "fresh", seed=0, device="cpu", test=True).hash == cell.hash  # same content
    images = copy / "MNIST" / "raw" / "train-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    data[-1] ^= 0xFF  # one pixel, same size
    images.write_bytes(bytes(data))
    changed = resolve_cell(MNIST_CELL, "fresh", seed=0, device="cpu", test=True)
    assert changed.hash != cell.hash and changed.identity.data != cell.identity.data


def test_file_digests_are_cached_by_path_size_and_mtime(mnist_root):
    first = identity.data_fingerprint(["mnist"])
    cache_file = identity._cache_path()
    cached = json.loads(cache_file.read_text())
    assert len(cached) == 4  # the four idx files the loader reads
    for entry in cached.values():
        entry[2] = "0" * 64  # a repeat must trust the cache, not read the files again
    cache_file.write_text(json.dumps(cached))
    identity._digest_caches.clear()
    assert identity.data_fingerprint(["mnist"]) != first
    recent = mnist_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    os.utime(recent)  # modified just now: hashed again (and not cached while its mtime could still tick)
    identity.file_digests([recent])
    assert json.loads(cache_file.read_text())[str(recent.resolve())][2] == "0" * 64


def test_embedded_digits_are_fingerprinted_by_the_file_scikit_learn_reads():
    from nsr_bench.scenarios.sources import source_files

    (path,) = source_files("digits", None).values()
    assert path.name == "digits.csv.gz" and path.is_file()
    assert resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu").identity.data.keys() == {"digits"}


def test_weights_content_is_in_the_key(mnist_root, tmp_path):
    weights = tmp_path / "backbone.safetensors"
    selector = f"{MNIST_CELL[:-1]},weights={weights}]"
    with pytest.raises(SpecError, match="no such file"):
        resolve_cell(selector, "fresh", seed=0, device="cpu", test=True)
    weights.write_bytes(b"first weights")
    a = resolve_cell(selector, "fresh", seed=0, device="cpu", test=True)
    weights.write_bytes(b"other weights")  # same path, same size
    b = resolve_cell(selector, "fresh", seed=0, device="cpu", test=True)
    assert a.identity.weights != b.identity.weights and a.hash != b.hash


def test_matrix_cells_carry_the_per_worker_thread_count():
    from nsr_bench.matrix import MatrixSpec, expand, worker_threads

    spec = MatrixSpec(name="m", strategy="nsr", scenarios=["digits_cyclic"], factors={"rank": [4]})
    assert worker_threads(1) is None and worker_threads(10**6) == 1
    (cell,), _ = expand(spec, threads=1)
    assert cell.spec.identity.threads == 1


def _store_with_stale_cells(tmp_path, monkeypatch) -> tuple[ResultsStore, str]:
    """A store with one cell of the current code, one of other code and one of an older store."""
    from sqlalchemy import insert

    store = ResultsStore(tmp_path / "results")

    def write(cell, strategy: str) -> None:
        summary = {"strategy": strategy, "scenario": cell.scenario, "seed": 0, "hash": cell.hash,
                   **dict.fromkeys(METRICS, 0.5)}
        store.write(cell, {"manifest": {}, "summary": summary}, [], [], None)

    current = resolve_cell("digits_cyclic", "carry", seed=0, device="cpu")
    write(current, "carry")
    with monkeypatch.context() as mp:
        mp.setattr(identity, "cell_code", lambda impl, builder: "other-code")
        write(resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu"), "fresh")
    old_spec = {k: v for k, v in current.model_dump(mode="json").items() if k != "identity"}
    old = {"strategy": "nsr", "scenario": "digits_cyclic", "seed": 0, "hash": "0123456789abcdef",
           **dict.fromkeys(METRICS, 0.9)}
    with store.engine.begin() as conn:
        conn.execute(insert(store.schema.cells).values(
            hash=old["hash"], scenario="digits_cyclic", strategy="nsr", seed=0, spec=json.dumps(old_spec),
            manifest="{}", summary=json.dumps(old), finished_at=0.0))
    return store, current.hash


def test_report_leaves_stale_cells_out_lists_and_purges_them(tmp_path, monkeypatch, capsys):
    import pandas as pd

    store, current = _store_with_stale_cells(tmp_path, monkeypatch)
    results = ["--results", str(tmp_path / "results")]
    assert main(["report", *results, "--export", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "Carry (memoryless)" in out and "Fresh" not in out and "nsr" not in out.split("wrote")[0]
    assert "left out 2 stale cells" in err
    assert list(pd.read_csv(tmp_path / "out" / "cells.csv")["hash"]) == [current]
    assert main(["report", *results, "--include-stale", "--export", str(tmp_path / "all")]) == 0
    assert len(pd.read_csv(tmp_path / "all" / "cells.csv")) == 3
    capsys.readouterr()
    assert main(["figures", *results, "--out", str(tmp_path / "figures")]) == 0
    assert "left out 2 stale cells" in capsys.readouterr().err
    assert main(["report", *results, "--stale"]) == 0
    out = capsys.readouterr().out
    assert "other-code" in out and "no identity" in out and "2 cells computed by other code" in out
    stale = identity.stale_cells(store)
    assert len(stale) == 2 and len(store.table("cells")) == 3  # listing deletes nothing
    assert main(["report", *results, "--purge-stale"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("deleted")] == [
        c["hash"] for c in stale]
    assert "2 cells deleted" in out
    assert [c["hash"] for c in store.table("cells")] == [current]
    assert identity.stale_cells(store) == []


def test_the_policy_file_is_in_the_key_and_a_changed_one_does_not_run_old_cells(tmp_path):
    from nsr_bench.rl.policy import policy_path

    path = tmp_path / "policy.json"
    shutil.copy(policy_path("rl_v1"), path)
    shipped = resolve_cell("digits_cyclic", "rl", seed=0, device="cpu", test=True)
    cell = resolve_cell("digits_cyclic", f"rl[policy={path}]", seed=0, device="cpu", test=True)
    assert cell.identity.files == shipped.identity.files and len(cell.identity.files) == 1  # same content
    assert resolve_cell("digits_cyclic", "nsr", seed=0, device="cpu", test=True).identity.files == []
    data = json.loads(path.read_text())
    data["weights"][0] += 1.0
    path.write_text(json.dumps(data))
    retrained = resolve_cell("digits_cyclic", f"rl[policy={path}]", seed=0, device="cpu", test=True)
    assert retrained.identity.files != cell.identity.files and retrained.hash != cell.hash
    with pytest.raises(identity.IdentityError, match="other files"):
        identity.check_identity(cell)
