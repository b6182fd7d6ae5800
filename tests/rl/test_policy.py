"""The shipped policy file: it loads, it records how it was trained, and its choices are learned."""

import json

import pytest
import torch

from nsr_bench.config import SpecError
from nsr_bench.nsr.allocation import AllocationContext
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.rl.features import FEATURES, candidates
from nsr_bench.rl.policy import VERSION, Policy, policy_path
from nsr_bench.rl.train import TRAIN_SEED
from nsr_bench.strategies.rl import PolicyRule
from tests.nsr.test_bank import make_entry


def test_the_shipped_policy_loads_with_its_training_record():
    policy = Policy.load("rl_v1")
    training = policy.training
    assert training["episodes"] == len(training["curve"]) == len(training["seeds"]) > 1
    assert min(training["seeds"]) >= TRAIN_SEED > 9  # disjoint from the evaluation cells' seeds 0-9
    assert not training["test"] and training["command"].startswith("nsr-bench train-rl")
    assert policy.weights.abs().sum() > 0
    data = json.loads(policy_path("rl_v1").read_text())
    assert data["version"] == VERSION and data["features"] == list(FEATURES)


def test_a_policy_of_other_features_or_a_missing_one_is_refused_naming_the_fix(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**Policy.load("rl_v1").to_json(), "features": ["fresh", "probe_loss"]}))
    with pytest.raises(SpecError, match="retrain it with `nsr-bench train-rl"):
        Policy.load(str(path))
    with pytest.raises(SpecError, match="shipped policy"):
        Policy.load("rl_v0")


def returning_task_context():
    """Task 1 returns: its stored entry matches the new embedding and already fits the new data
    (probe loss 0.05 vs a fresh adapter's 0.69); the other entries are unrelated and fit no better."""
    bank = TaskKnowledgeBank()
    for t in range(3):
        bank.reserve(make_entry(torch.eye(4)[t], t), now=t)
    losses = {(1,): 0.05, (0,): 0.9, (2,): 0.8}

    def probe(decision):
        if decision.action == "recall":
            return losses[tuple(decision.entries)]
        return {"fresh": 0.69, "carry": 0.75, "merge": 0.5}[decision.action]

    query = torch.tensor([0.05, 1.0, 0.1, 0.0])
    return AllocationContext(query, bank, experience=6, probe=probe), torch.tensor([0.0, 0.1, 1.0, 0.0])


def test_the_trained_policy_recalls_the_returning_tasks_entry_where_an_untrained_one_does_not():
    ctx, previous = returning_task_context()
    decisions, features = candidates(ctx, previous, 3)
    matching = next(i for i, d in enumerate(decisions) if d.action == "recall" and d.entries == [1])
    trained = Policy.load("rl_v1").probabilities(features)
    uniform = Policy(torch.zeros(len(FEATURES))).probabilities(features)
    assert int(trained.argmax()) == matching and trained[matching] > 0.5
    assert trained[matching] > 2 * trained[0]  # well above fresh
    assert float(uniform[matching]) == pytest.approx(1 / len(decisions))
    rule = PolicyRule(Policy.load("rl_v1"))
    rule._last_query = previous
    assert rule.decide(ctx).entries == [1]
    assert PolicyRule(Policy(torch.zeros(len(FEATURES)))).decide(ctx).action == "fresh"  # ties: the first
