import pytest

from nsr_bench.resolution import resolve_cell
from nsr_bench.results.store import ResultsStore
from nsr_bench.runner import run_cell

METRICS = ("acc", "acc_agnostic", "bwt", "forgetting", "fwt", "recovery_steps_mean", "regret",
           "bank_mb_total", "task_id_acc")


def test_same_seed_is_bit_identical_with_or_without_a_cached_backbone(tmp_path, monkeypatch):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "empty-cache"))
    store = ResultsStore(tmp_path / "results")
    cell = resolve_cell("digits_cyclic", "nsr", seed=0, device="cpu", test=True)
    miss = run_cell(cell, store)  # pre-trains the backbone
    hit = run_cell(cell, store, force=True)  # loads it from the cache
    assert {k: miss[k] for k in METRICS} == {k: hit[k] for k in METRICS}
    other = run_cell(resolve_cell("digits_cyclic", "nsr", seed=1, device="cpu", test=True), store)
    assert other["hash"] != miss["hash"]
    assert {k: other[k] for k in METRICS} != {k: miss[k] for k in METRICS}


def test_cell_hash_depends_on_every_setting():
    a = resolve_cell("digits_cyclic", "nsr", seed=0, device="cpu", tuned=False)
    assert a.hash == resolve_cell("digits_cyclic", "nsr[rank=4]", seed=0, device="cpu", tuned=False).hash
    assert a.hash != resolve_cell("digits_cyclic", "nsr[rank=8]", seed=0, device="cpu", tuned=False).hash
    assert a.hash != resolve_cell("digits_cyclic[epochs=5]", "nsr", seed=0, device="cpu").hash
    assert a.hash != resolve_cell("digits_cyclic", "nsr", seed=1, device="cpu").hash
    more_threads = a.identity.threads + 1
    assert a.hash != resolve_cell("digits_cyclic", "nsr", seed=0, device="cpu", threads=more_threads).hash


def test_cuda_request_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    from nsr_bench.config import SpecError

    with pytest.raises(SpecError, match="CUDA is not available"):
        resolve_cell("digits_cyclic", "nsr", seed=0, device="cuda")
