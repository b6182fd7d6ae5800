import numpy as np
import pytest
import torch

from nsr_bench.nsr.allocation import AllocationContext
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.rl.features import FEATURES, candidates
from nsr_bench.strategies.rl_online import RLAllocator, early_reward
from tests.nsr.test_bank import make_entry


def bank_of(n=3):
    bank = TaskKnowledgeBank()
    for t in range(n):
        bank.reserve(make_entry(torch.eye(4)[t], t), now=t)
    return bank


def context(bank, experience=5, probe=None):
    return AllocationContext(torch.tensor([1.0, 0.2, 0.0, 0.0]), bank, experience, probe=probe)


def test_reward_is_early_accuracy_minus_a_recovery_cost():
    assert early_reward([1.0, 1.0], 0.9, 0.5) == 1.0
    assert early_reward([0.5, 0.7, 0.95, 1.0], 0.9, 0.5) == pytest.approx(0.7875 - 0.5 * 2 / 4)
    assert early_reward([0.1, 0.2], 0.9, 1.0) == pytest.approx(0.15 - 1.0)


def test_action_probabilities_change_after_rewards():
    rule, bank = RLAllocator(seed=0), bank_of()
    rule.decide(context(bank))  # first decision: no carry candidate yet
    _, features = candidates(context(bank), rule._last_query, rule.top_k)
    before = rule.probabilities(features)
    assert torch.allclose(before, torch.full_like(before, 1 / len(before)))  # uniform start
    for reward in (1.0, 0.0, 1.0, 0.2):
        rule.decide(context(bank))
        rule.learn(reward)
    assert not torch.allclose(rule.probabilities(features), before)


def test_learns_to_recall_when_rewards_favour_recall():
    rule, bank = RLAllocator(seed=1), bank_of()
    decisions, _ = candidates(context(bank), None, rule.top_k)
    chance = sum(d.action == "recall" for d in decisions) / len(decisions)
    recalls = []
    for _ in range(60):
        action = rule.decide(context(bank)).action
        rule.learn(1.0 if action == "recall" else 0.0)
        recalls.append(action == "recall")
    assert np.mean(recalls[-20:]) > chance + 0.25


def test_probe_losses_enter_as_log_ratios_to_the_fresh_candidates():
    bank = bank_of()
    losses = {"fresh": 0.7, "carry": 0.6, "recall": 0.07, "merge": 0.35}
    ctx = context(bank, probe=lambda d: losses[d.action])
    decisions, features = candidates(ctx, torch.ones(4), 3)
    ratio = features[:, list(FEATURES).index("log_loss_ratio")]
    assert ratio.tolist() == pytest.approx([np.log(losses[d.action] / 0.7) for d in decisions])
    assert [d.action for d in decisions] == ["fresh", "carry", "recall", "recall", "recall", "merge"]
