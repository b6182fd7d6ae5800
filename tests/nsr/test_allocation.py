import itertools

import pytest
import torch

from nsr_bench.nsr.allocation import AllocationContext, Decision, SimilarityRule, merge_weights
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


@pytest.mark.parametrize("similarities", [[0.2, -0.5], [0.5, -0.5], [-0.1, -0.6, -0.9], [0.3, 0.3, 0.3],
                                          [0.9, 0.0, -0.9], [1.0, -1.0], [0.0, 0.0]])
def test_merge_weights_are_convex_and_follow_the_similarity(similarities):
    weights = merge_weights(similarities)  # similarities given in decreasing order
    assert all(w > 0 for w in weights) and sum(weights) == pytest.approx(1.0)
    pairs = list(zip(similarities, weights, strict=True))
    for (s, w), (s_next, w_next) in itertools.pairwise(pairs):
        assert w > w_next if s > s_next else w == pytest.approx(w_next)


def test_merge_with_a_negative_threshold_weighs_the_similar_entry_most():
    bank = bank_with([[1, 0], [-1, 0.2]])
    query = [1, 1]  # cosine ~0.71 to entry 0, ~-0.55 to entry 1: the old rule gave (4.64, -3.64)
    merged = SimilarityRule(tau_recall=0.9, tau_related=-0.8).decide(ctx(query, bank))
    assert merged.action == "merge" and merged.entries == [0, 1]
    assert merged.weights[0] > 0.99 and merged.weights[1] > 0 and sum(merged.weights) == pytest.approx(1.0)


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
