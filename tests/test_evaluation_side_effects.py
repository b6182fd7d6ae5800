"""Measurement has no side effects: evaluation settings never change what is trained."""

import pytest

from nsr_bench.execution import execute_cell
from nsr_bench.resolution import resolve_cell


def trained(strategy: str, scenario: str) -> dict:
    """What training produced: the oracle accuracy matrix, the decisions and the Bank's content."""
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    _, documents, rows, _, bank = execute_cell(resolve_cell(scenario, strategy, 0, "cpu", test=True))
    out = {"oracle": [(r["experience"], r["task"], r["acc"]) for r in rows if r["mode"] == "oracle"],
           "decisions": documents["manifest"]["decisions"]}
    if bank is not None:
        entries = TaskKnowledgeBank.from_bytes(bank).entries
        out["bank"] = {i: {k: v.tolist() for k, v in e.tensors().items()} for i, e in entries.items()}
    return out


@pytest.mark.parametrize("strategy", ["nsr", "rl", "random_slot", "replay"])
def test_eval_batch_size_and_eval_every_leave_training_bit_identical(strategy):
    """The agnostic evaluation routes per test batch, so a smaller eval batch loads Bank entries many
    more times; curve points every step instead of every two add evaluations. Neither may move training."""
    reference = trained(strategy, "digits_cyclic")
    assert trained(strategy, "digits_cyclic[eval_batch_size=16]") == reference
    assert trained(strategy, "digits_cyclic[eval_every=1]") == reference
