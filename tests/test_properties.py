"""Property-based tests (hypothesis) of the Bank, the compression and the metric functions."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsr_bench.metrics import core
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.compress import compress
from tests.nsr.test_bank import make_entry

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cap=st.integers(1, 6), policy=st.sampled_from(["lru", "lfu", "fifo"]),
       ops=st.lists(st.tuples(st.sampled_from(["reserve", "touch", "update"]), st.integers(0, 20)), max_size=30))
def test_bank_invariants_under_any_sequence_of_operations(cap, policy, ops):
    bank = TaskKnowledgeBank(cap=cap, eviction=policy)
    reserved = 0
    for now, (op, arg) in enumerate(ops):
        live = sorted(bank.entries)
        if op == "reserve" or not live:
            new = bank.reserve(make_entry(torch.randn(4, generator=torch.Generator().manual_seed(arg)), arg),
                               now)
            reserved += 1
            assert new in bank  # the entry just reserved is never the one evicted
        elif op == "touch":
            bank.touch(live[arg % len(live)], now)
        else:
            target = live[arg % len(live)]
            assert bank.reserve(make_entry(torch.randn(4), arg), now, entry_id=target) == target
        assert len(bank) <= cap
        assert len(bank) + len(bank.evicted) == reserved  # every new entry is either kept or evicted
        assert bank.nbytes == sum(e.nbytes for e in bank.entries.values())
        assert not set(bank.evicted) & set(bank.entries)
    if len(bank):
        query = torch.randn(4)
        hits = bank.recall(query, k=len(bank))
        sims = [s for _, s in hits]
        assert sims == sorted(sims, reverse=True) and all(-1.0001 <= s <= 1.0001 for s in sims)
        assert {i for i, _ in hits} == set(bank.entries)


@SETTINGS
@given(out=st.integers(1, 12), inp=st.integers(1, 12), rank=st.integers(1, 12), seed=st.integers(0, 10_000),
       energy=st.floats(0.05, 1.0))
def test_compression_error_is_bounded_by_the_discarded_energy(out, inp, rank, seed, energy):
    delta = torch.randn(out, inp, generator=torch.Generator().manual_seed(seed))
    total = float((torch.linalg.svdvals(delta) ** 2).sum())
    c = compress(delta, energy=energy)
    err = float(torch.linalg.matrix_norm(delta - c.reconstruct()) ** 2)
    assert err <= (1 - energy) * total + 1e-4 * max(total, 1.0)
    fixed = compress(delta, rank=rank)
    assert fixed.rank == min(rank, out, inp)
    kept = float((torch.linalg.svdvals(delta)[: fixed.rank] ** 2).sum())
    assert float(torch.linalg.matrix_norm(delta - fixed.reconstruct()) ** 2) == pytest.approx(
        total - kept, abs=1e-3 * max(total, 1.0))


@SETTINGS
@given(st.data())
def test_metrics_respect_their_definitions_on_random_matrices(data):
    m = data.draw(st.integers(1, 4))
    tasks = data.draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=8))
    values = data.draw(st.lists(st.floats(0, 1), min_size=(len(tasks) + 1) * m, max_size=(len(tasks) + 1) * m))
    R = np.array(values).reshape(len(tasks) + 1, m)
    assert 0 <= core.average_accuracy(R) <= 1
    f = core.forgetting(R, tasks)
    assert -1 <= f <= 1
    bwt = core.backward_transfer(R, tasks)
    assert bwt is None or -1 <= bwt <= 1
    if bwt is not None and len(set(tasks)) == len(tasks):
        # each task trained once: forgetting maxes over rows from its training on, BWT uses that row
        assert -bwt <= f + 1e-9
    constant = np.full_like(R, 0.7)
    assert core.forgetting(constant, tasks) == 0.0
    assert core.backward_transfer(constant, tasks) in (None, 0.0)
