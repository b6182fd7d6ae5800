"""pytest-benchmark suite (``tox -e bench`` or ``pytest benchmarks``); ratios: ``python benchmarks/ratios.py``."""

import subprocess
import sys

import pytest
import torch

from benchmarks import common
from nsr_bench.nsr.bank import BankEntry, EntryMeta, TaskKnowledgeBank
from nsr_bench.nsr.compress import compress, compress_factors


@pytest.fixture(scope="module")
def sc():
    return common.scenario()


def test_bare_pytorch_loop(benchmark, sc):
    benchmark.pedantic(common.bare_loop(sc), rounds=5, warmup_rounds=1)


def test_plain_lora_training(benchmark, sc):
    benchmark.pedantic(common.lora_strategy(sc), rounds=5, warmup_rounds=1)


def test_nsr_training(benchmark, sc):
    benchmark.pedantic(common.nsr_strategy(sc), rounds=5, warmup_rounds=1)


def test_nsr_training_without_distillation(benchmark, sc):
    benchmark.pedantic(common.nsr_strategy(sc, distill=0.0), rounds=5, warmup_rounds=1)


def filled_bank(n: int, dim: int = 64) -> TaskKnowledgeBank:
    bank = TaskKnowledgeBank(cap=n)
    keys = torch.randn(n, dim)
    small = compress(torch.randn(4, 4), rank=1)
    for i in range(n):
        bank.reserve(BankEntry(keys[i], {"l": small}, torch.zeros(1, 4), torch.zeros(1), EntryMeta(tasks=[i])), i)
    bank.recall(keys[0])  # build the key matrix once, as after any reserve
    return bank


@pytest.mark.parametrize("n", [10, 1_000, 10_000])
def test_bank_recall(benchmark, n):
    bank = filled_bank(n)
    query = torch.randn(64)
    hits = benchmark(bank.recall, query, 5)
    assert len(hits) == 5


def test_svd_compression_per_task(benchmark):
    """Low-rank compression of the SmallCNN's conv2 and fc LoRA updates (rank 4), as NSR runs it."""
    factors = [(torch.randn(32, 4), torch.randn(4, 16 * 9)), (torch.randn(64, 4), torch.randn(4, 512))]
    benchmark(lambda: [compress_factors(a, b, (len(a), b.shape[1]), 0.99) for a, b in factors])


def test_default_cell_end_to_end(benchmark, tmp_path):
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore
    from nsr_bench.runner import run_cell

    cell = resolve_cell("digits_cyclic", "nsr", 0, "cpu")
    benchmark.pedantic(lambda: run_cell(cell, ResultsStore(tmp_path), force=True), rounds=2)


def test_cli_startup(benchmark):
    benchmark.pedantic(lambda: subprocess.run([sys.executable, "-m", "nsr_bench.cli", "--help"], check=True,
                                              capture_output=True), rounds=5)
