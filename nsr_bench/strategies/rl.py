"""A learned allocation rule trained offline: a frozen policy over the Bank's candidates.

The policy (:mod:`nsr_bench.rl.policy`) was trained by ``nsr-bench train-rl`` on training streams
disjoint from the evaluation cells' (digits streams with seeds >= 1000 and other class-to-task splits;
see :mod:`nsr_bench.rl.train`). In a cell it is frozen and acts greedily: at each experience it scores
every candidate (fresh, carry, recall of each of the ``merge_k`` nearest entries, their merge; features
in :mod:`nsr_bench.rl.features`) and takes the highest-scoring one, so a cell is deterministic given its
seed. The policy file's SHA-256 is part of the cell's identity.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from torch import Tensor

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.rl.features import candidates
from nsr_bench.rl.policy import Policy, policy_path
from nsr_bench.strategies.common import RecallingParams, allocation_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(RecallingParams):
    merge_k: int = Field(3, ge=1, description="Bank entries offered as recall candidates (and merged)")
    distill_lambda: float = Field(1.0, ge=0)
    policy: str = Field("rl_v1", description="a shipped policy (nsr_bench/policies) or a policy .json file")


def input_files(params: dict) -> list[Path]:
    """The policy file the rule reads (its SHA-256 is part of the cell's identity)."""
    return [policy_path(params["policy"])]


def build(params: Params, ctx: BuildContext) -> list:
    return allocation_plugins(params, PolicyRule(Policy.load(params.policy), params.merge_k), ctx)


class PolicyRule(AllocationRule):
    """Greedy decisions of a frozen policy; ``history`` records each decision's candidate probabilities."""

    uses_bank = True

    def __init__(self, policy: Policy, top_k: int = 3):
        self.policy, self.top_k = policy, top_k
        self.history: list[dict] = []
        self._last_query: Tensor | None = None

    def decide(self, ctx: AllocationContext) -> Decision:
        decisions, features = candidates(ctx, self._last_query, self.top_k)
        probs = self.policy.probabilities(features)
        index = int(probs.argmax())
        self._last_query = ctx.query
        self.history.append({"experience": ctx.experience, "action": decisions[index].action,
                             "probabilities": probs.tolist()})
        return decisions[index]
