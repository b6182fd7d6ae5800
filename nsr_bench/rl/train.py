"""Offline training of the learned allocator's policy: ``nsr-bench train-rl`` (heavy imports).

**Streams.** Episode e runs one whole training stream: ``TRAIN_STREAMS[e % 4]`` (the embedded digits
scenario as is, with a fresh task order per cycle, with 3 tasks of 3 classes, and under input drift)
with seed ``TRAIN_SEED + e`` (>= 1000). The seed draws the sample split, the class-to-task assignment and
the task order, so no training stream is one of the evaluation cells (seeds 0-9); the digits images
themselves are one dataset shared by both.

**State and actions.** At each experience the candidates and their features are those of
:mod:`nsr_bench.rl.features` (fresh, carry, recall of each of the 3 nearest Bank entries, their merge).

**Reward (full information).** Each candidate is *tried* by branching: the live adapter is captured,
the candidate applied, ``trial_steps`` Adam steps taken on the experience's training minibatches, and
the task-masked accuracy of held-out training samples measured before and after every step, then the
adapter restored (:meth:`AdapterAllocation._trial`). A candidate's reward is the mean of that early
recovery curve: high when the task starts high and gets there fast, which is what the benchmark's
retention, recovery steps and regret measure (they are measured on the validation split; the trials
read training data only, and never the test set). With ``overwrite_cost`` c > 0, recalling an entry that
holds none of the new task's knowledge (known from the training stream's task ids; the policy itself never
sees them) costs c: the Bank updates a recalled entry in place, so that recall overwrites another task's
adapter, which the early recovery curve does not see.

**Learning.** Every decision's (features, rewards of all candidates) is kept; after each episode the
policy's weights maximise the expected reward ``sum_a softmax(w . x_a) (r_a - mean r)`` averaged over
every decision so far (``fit_steps`` full-batch Adam steps, L2 ``l2``). The stream goes on with an action
sampled from the current policy, so the Bank and the carried adapter look like the policy's own.

**Curve.** Per episode, before fitting on it: the greedy policy's mean regret (best candidate's reward
minus the chosen one's) over the episode's decisions, and the same for a uniformly random choice,
always-fresh and recall-the-nearest-entry (fresh without an entry), the rule closest to NSR's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nsr_bench.nsr.allocation import AllocationContext, AllocationRule, Decision
from nsr_bench.rl.features import FEATURES, candidates
from nsr_bench.rl.policy import Policy

TRAIN_SEED = 1000
TRAIN_STREAMS = ("digits_cyclic", "digits_cyclic[shuffle=true]", "digits_cyclic[tasks=3,classes_per_task=3]",
                 "digits_cyclic[recurrence=drift]")
REFERENCES = ("policy", "uniform", "fresh", "nearest")


class TrialRule(AllocationRule):
    """Tries every candidate (full information), records the decision, and acts by the current policy."""

    uses_bank = True

    def __init__(self, weights: Tensor, top_k: int, trial_steps: int, generator: torch.Generator,
                 overwrite_cost: float = 0.0):
        self.weights, self.top_k, self.trial_steps, self.generator = weights, top_k, trial_steps, generator
        self.overwrite_cost = overwrite_cost
        self.decisions: list[tuple[Tensor, Tensor, list[str]]] = []
        self._last_query: Tensor | None = None

    def decide(self, ctx: AllocationContext) -> Decision:
        decisions, features = candidates(ctx, self._last_query, self.top_k)
        self._last_query = ctx.query
        if len(decisions) == 1:
            return decisions[0]
        rewards = torch.tensor([float(np.mean(ctx.trial(d))) - self.overwrite_cost * _overwrites(ctx, d)
                                for d in decisions])
        self.decisions.append((features, rewards, [d.action for d in decisions]))
        probs = torch.softmax(features @ self.weights.detach(), 0)
        return decisions[int(torch.multinomial(probs, 1, generator=self.generator))]


def _overwrites(ctx: AllocationContext, decision: Decision) -> bool:
    """Whether ``decision`` recalls (and so will overwrite) an entry of other tasks only (oracle task id)."""
    return decision.action == "recall" and ctx.task not in ctx.bank[decision.entries[0]].meta.tasks


def regrets(weights: Tensor, decisions: list[tuple[Tensor, Tensor, list[str]]]) -> dict[str, float]:
    """Mean regret (best reward minus the chosen candidate's) of each reference choice over ``decisions``."""
    out = {k: [] for k in REFERENCES}
    for features, rewards, kinds in decisions:
        best = float(rewards.max())
        nearest = kinds.index("recall") if "recall" in kinds else 0
        out["policy"].append(best - float(rewards[int((features @ weights.detach()).argmax())]))
        out["uniform"].append(best - float(rewards.mean()))
        out["fresh"].append(best - float(rewards[0]))
        out["nearest"].append(best - float(rewards[nearest]))
    return {f"regret_{k}": float(np.mean(v)) for k, v in out.items()}


def fit(weights: Tensor, decisions: list, steps: int, lr: float, l2: float) -> None:
    """Maximise the mean expected (centred) reward over ``decisions`` by full-batch Adam on ``weights``."""
    optimizer = torch.optim.Adam([weights], lr=lr)
    for _ in range(steps):
        gain = torch.stack([(torch.softmax(f @ weights, 0) * (r - r.mean())).sum() for f, r, _ in decisions])
        loss = -gain.mean() + l2 * weights.pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def run_episode(stream: str, seed: int, rule: TrialRule, device: str, test: bool = False) -> None:
    """Train the ``rl`` strategy's stack with ``rule`` through the whole stream ``stream`` (no evaluation;
    ``test``: the scenario's tiny test configuration)."""
    from nsr_bench.execution import prepare, training_loop
    from nsr_bench.guards import FiniteLossGuard
    from nsr_bench.registry import lookup, resolve
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.strategies import rl
    from nsr_bench.strategies.common import allocation_plugins

    cell = resolve_cell(stream, "fresh", seed, device, test=test)  # the scenario and its train spec
    params = rl.Params(**{k: v for k, v in lookup("strategies", "rl").defaults.items() if k != "policy"})
    scenario = resolve(cell.builder)(**cell.scenario_params, seed=seed, device=cell.device)
    model, context, plugins, _ = prepare(cell, scenario, lambda ctx: allocation_plugins(params, rule, ctx))
    strategy = training_loop(cell, model, context, [*plugins, FiniteLossGuard()])
    for exp in scenario.benchmark().train_stream:
        strategy.train(exp, num_workers=0)


def train_policy(episodes: int, trial_steps: int = 8, fit_steps: int = 100, lr: float = 0.05, l2: float = 1e-3,
                 overwrite_cost: float = 0.25, device: str = "cpu", test: bool = False, log=print,
                 progress=None) -> Policy:
    """Train a policy over ``episodes`` training streams (see the module docstring; ``test``: their tiny
    test configuration) and return it with its training record (configuration, streams and seeds, curve).
    ``progress`` (a :class:`~nsr_bench.progress.Progress` over the episodes, optional) shows each one's stage."""
    from nsr_bench.execution import flushed_subnormals

    weights = torch.zeros(len(FEATURES), requires_grad=True)
    generator = torch.Generator().manual_seed(TRAIN_SEED)
    seen: list = []
    curve: list[dict[str, Any]] = []
    started = time.perf_counter()

    def stage(text: str) -> None:
        if progress is not None:
            progress.stage(text)

    for episode in range(episodes):
        stream, seed = TRAIN_STREAMS[episode % len(TRAIN_STREAMS)], TRAIN_SEED + episode
        where = f"episode {episode + 1}/{episodes} ({stream} seed {seed})"
        stage(f"{where}: training, every candidate tried at each experience")
        rule = TrialRule(weights, 3, trial_steps, generator, overwrite_cost)
        with flushed_subnormals():
            run_episode(stream, seed, rule, device, test)
        point = {"episode": episode, "stream": stream, "seed": seed, "decisions": len(rule.decisions),
                 **regrets(weights, rule.decisions),
                 "best_kinds": _best_kinds(rule.decisions), "wall_s": time.perf_counter() - started}
        curve.append(point)
        seen += rule.decisions
        stage(f"{where}: fitting the policy on {len(seen)} decisions")
        fit(weights, seen, fit_steps, lr, l2)
        log(f"episode {episode} {stream} seed {seed}: " + ", ".join(
            f"{k} {point[f'regret_{k}']:.4f}" for k in REFERENCES) + f" ({point['wall_s']:.0f} s)")
        if progress is not None:
            progress.advance()
    training = {"episodes": episodes, "trial_steps": trial_steps, "fit_steps": fit_steps, "lr": lr, "l2": l2,
                "overwrite_cost": overwrite_cost,
                "test": test, "streams": list(TRAIN_STREAMS), "seeds": [TRAIN_SEED + e for e in range(episodes)],
                "reward": "mean held-out training accuracy over a candidate's trial (before and after each step)",
                "action": "greedy (argmax) at evaluation", "curve": curve}
    return Policy(weights, training)


def _best_kinds(decisions: list) -> dict[str, int]:
    """How often each action kind had the highest trial reward in an episode."""
    out: dict[str, int] = {}
    for _, rewards, kinds in decisions:
        kind = kinds[int(rewards.argmax())]
        out[kind] = out.get(kind, 0) + 1
    return out
