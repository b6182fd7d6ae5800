"""A learned allocation rule: REINFORCE with a baseline over the Bank's candidates.

Williams, "Simple statistical gradient-following algorithms for connectionist reinforcement
learning", Machine Learning 8, 1992. Each experience is a one-step episode (a contextual bandit
solved by policy gradient): at its start the policy scores every candidate action, samples one, and
after the first updates receives

    reward = mean(a_1..a_E) - recovery_cost * (first k with a_k >= threshold, else E) / E

where a_k is the accuracy of the k-th training minibatch after allocation (E = feedback steps):
accuracy reached early, minus a cost for slow recovery. The update is
``theta += lr * (reward - b) * grad log pi(action)`` with ``b`` an exponential moving average of past
rewards. Candidates: fresh, carry, recall one of the top-k Bank entries, merge the top-k.
Candidate features: action type (one-hot), cosine similarity to the query, the entry's age and use
count (normalised), and the probe loss of the candidate on a batch of the new data.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.strategies.common import RecallingParams, allocation_plugins

KINDS = ("fresh", "carry", "recall", "merge")


class Params(RecallingParams):
    merge_k: int = Field(3, ge=1, description="Bank entries offered as recall candidates")
    distill_lambda: float = Field(1.0, ge=0)
    rl_lr: float = Field(0.5, gt=0)
    rl_baseline_decay: float = Field(0.8, gt=0, lt=1)
    rl_threshold: float = Field(0.9, gt=0, le=1)
    rl_recovery_cost: float = Field(0.5, ge=0)
    rl_pretrain_episodes: int = Field(0, ge=0)


def build(params: Params, ctx) -> list:
    rule = RLAllocator(params.merge_k, params.rl_lr, params.rl_baseline_decay, params.rl_threshold,
                       params.rl_recovery_cost, params.rl_pretrain_episodes, ctx.streams.seed_for("rule"))
    return allocation_plugins(params, rule, ctx)
N_FEATURES = len(KINDS) + 4


def early_reward(early_accuracy: list[float], threshold: float, recovery_cost: float) -> float:
    """Mean early accuracy minus ``recovery_cost`` times the share of steps spent below ``threshold``."""
    if not early_accuracy:
        return 0.0
    steps = len(early_accuracy)
    first = next((k for k, a in enumerate(early_accuracy) if a >= threshold), steps)
    return float(np.mean(early_accuracy)) - recovery_cost * first / steps


class RLAllocator(AllocationRule):
    """Linear-softmax policy over candidate features, trained online by REINFORCE with a baseline.

    Args:
        top_k: Bank entries offered as recall candidates (and merged by the merge candidate).
        lr: policy-gradient step size.
        baseline_decay: decay of the reward moving average used as the baseline.
        threshold, recovery_cost: the reward's recovery threshold and cost (see module docstring).
        pretrain_episodes: simulated episodes run before the stream (see :meth:`pretrain`).
        seed: seeds the action sampling and the simulated episodes.
    """

    uses_bank = True

    def __init__(self, top_k: int = 3, lr: float = 0.5, baseline_decay: float = 0.8,
                 threshold: float = 0.9, recovery_cost: float = 0.5, pretrain_episodes: int = 0,
                 seed: int = 0):
        self.top_k, self.lr, self.baseline_decay = top_k, lr, baseline_decay
        self.threshold, self.recovery_cost = threshold, recovery_cost
        self.policy = nn.Linear(N_FEATURES, 1, bias=False)
        nn.init.zeros_(self.policy.weight)  # uniform over candidates before any reward
        self.optimizer = torch.optim.SGD(self.policy.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None
        self.history: list[dict] = []
        self._pending: tuple[Tensor, int] | None = None
        self._last_query: Tensor | None = None
        if pretrain_episodes:
            self.pretrain(pretrain_episodes, np.random.default_rng(seed))

    # ---------------------------------------------------------------- acting
    def candidates(self, ctx: AllocationContext) -> tuple[list[Decision], Tensor]:
        """Candidate decisions and their feature rows."""
        decisions, rows = [Decision("fresh")], [self._row("fresh", 0.0, 0.0, 0.0)]
        if self._last_query is not None:
            sim = float(torch.nn.functional.cosine_similarity(ctx.query, self._last_query, dim=0))
            decisions.append(Decision("carry", similarity=sim))
            rows.append(self._row("carry", sim, 0.0, 0.0))
        hits = ctx.bank.recall(ctx.query, self.top_k) if ctx.bank is not None else []
        for entry_id, sim in hits:
            meta = ctx.bank[entry_id].meta
            age = (ctx.experience - meta.last_use) / (ctx.experience + 1)
            decisions.append(Decision("recall", [entry_id], [1.0], sim))
            rows.append(self._row("recall", sim, age, meta.uses / (meta.uses + 1)))
        if len(hits) > 1:
            weights = torch.softmax(torch.tensor([s for _, s in hits]) * 5, 0).tolist()
            decisions.append(Decision("merge", [i for i, _ in hits], weights, hits[0][1]))
            rows.append(self._row("merge", float(np.mean([s for _, s in hits])), 0.0, 0.0))
        features = torch.stack(rows)
        if ctx.probe is not None:
            features[:, -1] = torch.tensor([ctx.probe(d) for d in decisions])
        return decisions, features

    @staticmethod
    def _row(kind: str, sim: float, age: float, uses: float) -> Tensor:
        onehot = [float(kind == k) for k in KINDS]
        return torch.tensor([*onehot, sim, age, uses, 0.0])

    def probabilities(self, features: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.softmax(self.policy(features).squeeze(1), 0)

    def decide(self, ctx: AllocationContext) -> Decision:
        decisions, features = self.candidates(ctx)
        probs = self.probabilities(features)
        index = int(torch.multinomial(probs, 1, generator=self.generator))
        self._pending = (features, index)
        self._last_query = ctx.query
        self.history.append({"experience": ctx.experience, "action": decisions[index].action,
                             "probabilities": probs.tolist()})
        return decisions[index]

    # ---------------------------------------------------------------- learning
    def feedback(self, early_accuracy: list[float]) -> None:
        self.learn(early_reward(early_accuracy, self.threshold, self.recovery_cost))

    def learn(self, reward: float) -> None:
        """One REINFORCE step for the last decision."""
        if self._pending is None:
            return
        features, index = self._pending
        self._pending = None
        baseline = reward if self.baseline is None else self.baseline
        advantage = reward - baseline
        log_prob = torch.log_softmax(self.policy(features).squeeze(1), 0)[index]
        self.optimizer.zero_grad()
        (-advantage * log_prob).backward()
        self.optimizer.step()
        self.baseline = (reward if self.baseline is None
                         else self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward)
        self.history[-1]["reward"] = reward

    def pretrain(self, episodes: int, rng: np.random.Generator) -> None:
        """Simulated episodes: random candidate sets whose reward is high for a low probe loss.

        Each episode draws 2-5 candidates with random kinds, similarities, ages and uses, and a
        probe loss that falls with similarity for recall/merge candidates; the reward of the chosen
        candidate is ``exp(-probe loss)`` plus noise. This teaches the prior "prefer candidates that
        already fit the new data" before any real experience.
        """
        for _ in range(episodes):
            n = int(rng.integers(2, 6))
            rows = []
            for _ in range(n):
                kind = KINDS[int(rng.integers(len(KINDS)))]
                sim = float(rng.uniform(-0.2, 1.0)) if kind != "fresh" else 0.0
                loss = float(np.clip(0.7 - (0.6 * sim if kind in ("recall", "merge") else 0.0)
                                     + rng.normal(0, 0.05), 0.01, None))
                row = self._row(kind, sim, float(rng.uniform()), float(rng.uniform()))
                row[-1] = loss
                rows.append(row)
            features = torch.stack(rows)
            index = int(torch.multinomial(self.probabilities(features), 1, generator=self.generator))
            self._pending = (features, index)
            self.history.append({"experience": -1, "action": "simulated"})
            self.learn(float(torch.exp(-features[index, -1])) + float(rng.normal(0, 0.02)))
