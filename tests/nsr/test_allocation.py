import pytest
import torch

from nsr_bench.nsr.allocation import AllocationContext, Decision, SimilarityRule
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.strategies.carry import Carry
from nsr_bench.strategies.fresh import Fresh
from tests.nsr.test_bank import make_entry


def bank_with(keys):
    bank = TaskKnowledgeBank()
    for t, k in enumerate(keys):
        bank.reserve(make_entry(torch.tensor(k, dtype=torch.float32), t), now=t)
    return bank


def ctx(query, bank, experience=1):
    return AllocationContext(torch.tensor(query, dtype=torch.float32), bank, experience)


def test_similarity_rule_recalls_merges_or_starts_fresh():
    bank = bank_with([[1, 0, 0], [0, 1, 0]])
    rule = SimilarityRule(tau_recall=0.95, tau_related=0.5)
    assert rule.decide(ctx([1, 0.05, 0], bank)) .action == "recall"
    merged = rule.decide(ctx([1, 1, 0], bank))
    assert merged.action == "merge" and sorted(merged.entries) == [0, 1]
    assert merged.weights == pytest.approx([0.5, 0.5])
    assert rule.decide(ctx([0, 0, 1], bank)).action == "fresh"
    assert rule.decide(ctx([1, 0, 0], TaskKnowledgeBank())).action == "fresh"


def test_memoryless_rules_ignore_the_bank():
    bank = bank_with([[1, 0]])
    assert Fresh().decide(ctx([1, 0], bank)).action == "fresh"
    assert Carry().decide(ctx([1, 0], bank, experience=0)).action == "fresh"
    assert Carry().decide(ctx([1, 0], bank, experience=3)).action == "carry"


def test_bad_rule_settings_are_rejected():
    with pytest.raises(ValueError):
        SimilarityRule(tau_recall=0.3, tau_related=0.6)
    with pytest.raises(ValueError, match="unknown allocation action"):
        Decision("steal")


def test_oracle_rules_need_the_task_id():
    from nsr_bench.strategies.adapter_store import AdapterStore
    from nsr_bench.strategies.isolated import OracleIsolated

    for rule in (OracleIsolated(), AdapterStore()):
        with pytest.raises(ValueError, match="oracle task ids"):
            rule.decide(AllocationContext(torch.zeros(3), TaskKnowledgeBank(), 0, task=None))
