"""A learned allocation rule trained online: REINFORCE with a baseline over the Bank's candidates.

Williams, "Simple statistical gradient-following algorithms for connectionist reinforcement
learning", Machine Learning 8, 1992. The comparator of the offline-trained ``rl``: the same candidates
and features (:mod:`nsr_bench.rl.features`), but the policy starts uniform in every cell and learns only
from that cell's own stream. Each experience is a one-step episode (a contextual bandit solved by policy
gradient): the policy samples a candidate and, after the first updates, receives

    reward = mean(a_1..a_E) - recovery_cost * (first k with a_k >= threshold, else E) / E

where a_k is the accuracy of the k-th training minibatch after allocation (E = feedback steps):
accuracy reached early, minus a cost for slow recovery. The update is
``theta += lr * (reward - b) * grad log pi(action)`` with ``b`` an exponential moving average of past
rewards.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.rl.features import FEATURES, candidates
from nsr_bench.rl.policy import Policy
from nsr_bench.strategies.common import RecallingParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(RecallingParams):
    merge_k: int = Field(3, ge=1, description="Bank entries offered as recall candidates")
    distill_lambda: float = Field(1.0, ge=0)
    rl_lr: float = Field(0.5, gt=0)
    rl_baseline_decay: float = Field(0.8, gt=0, lt=1)
    rl_threshold: float = Field(0.9, gt=0, le=1)
    rl_recovery_cost: float = Field(0.5, ge=0)


def build(params: Params, ctx: BuildContext) -> list:
    rule = RLAllocator(params.merge_k, params.rl_lr, params.rl_baseline_decay, params.rl_threshold,
                       params.rl_recovery_cost, ctx.streams.seed_for("rule"))
    return allocation_plugins(params, rule, ctx)


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
        seed: seeds the action sampling.
    """

    uses_bank = True

    def __init__(self, top_k: int = 3, lr: float = 0.5, baseline_decay: float = 0.8,
                 threshold: float = 0.9, recovery_cost: float = 0.5, seed: int = 0):
        self.top_k, self.lr, self.baseline_decay = top_k, lr, baseline_decay
        self.threshold, self.recovery_cost = threshold, recovery_cost
        self.weights = torch.zeros(len(FEATURES), requires_grad=True)  # uniform before any reward
        self.optimizer = torch.optim.SGD([self.weights], lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None
        self.history: list[dict] = []
        self._pending: tuple[Tensor, int] | None = None
        self._last_query: Tensor | None = None

    def probabilities(self, features: Tensor) -> Tensor:
        return Policy(self.weights).probabilities(features)

    def decide(self, ctx: AllocationContext) -> Decision:
        decisions, features = candidates(ctx, self._last_query, self.top_k)
        probs = self.probabilities(features)
        index = int(torch.multinomial(probs, 1, generator=self.generator))
        self._pending = (features, index)
        self._last_query = ctx.query
        self.history.append({"experience": ctx.experience, "action": decisions[index].action,
                             "probabilities": probs.tolist()})
        return decisions[index]

    def feedback(self, early_accuracy: list[float]) -> None:
        self.learn(early_reward(early_accuracy, self.threshold, self.recovery_cost))

    def learn(self, reward: float) -> None:
        """One REINFORCE step for the last decision."""
        if self._pending is None:
            return
        features, index = self._pending
        self._pending = None
        advantage = 0.0 if self.baseline is None else reward - self.baseline
        log_prob = torch.log_softmax(features @ self.weights, 0)[index]
        self.optimizer.zero_grad()
        (-advantage * log_prob).backward()
        self.optimizer.step()
        self.baseline = (reward if self.baseline is None
                         else self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward)
        self.history[-1]["reward"] = reward
