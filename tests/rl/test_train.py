"""`nsr-bench train-rl` in its tiny configuration: a policy file, its curve and the figure."""

import json

import pytest
import torch

from nsr_bench.cli import main
from nsr_bench.nsr.allocation import Decision
from nsr_bench.rl.features import FEATURES, candidates
from nsr_bench.rl.policy import Policy
from nsr_bench.rl.train import TRAIN_SEED, TrialRule, fit, regrets


def test_train_rl_writes_a_loadable_policy_with_its_curve_and_figure(tmp_path, capsys):
    out, figure = tmp_path / "p.json", tmp_path / "fig" / "curve.png"
    figure.parent.mkdir()  # a path in a missing folder is refused
    assert main(["train-rl", "--test", "--episodes", "1", "--trial-steps", "2", "--out", str(out),
                 "--figure", str(figure)]) == 0
    shown = capsys.readouterr()
    assert "1/1 [" in shown.err and "episode 1/1 (digits_cyclic seed 1000): fitting the policy" in shown.err
    assert "episode 0 digits_cyclic seed 1000:" in shown.out  # the episode's line, printed above the bar
    policy = Policy.load(str(out))
    (point,) = policy.training["curve"]
    assert point["seed"] == TRAIN_SEED and policy.training["test"]
    assert point["decisions"] > 0 and 0 <= point["regret_policy"] and 0 <= point["regret_uniform"]
    assert policy.weights.abs().sum() > 0  # fitted on the episode's decisions
    assert figure.is_file() and figure.with_suffix(".pdf").is_file()
    command = json.loads(out.read_text())["training"]["command"]
    assert command == "nsr-bench train-rl --episodes 1 --trial-steps 2 --overwrite-cost 0.25 --test"
    assert main(["train-rl", "--episodes", "0", "--out", str(out)]) == 2  # refused, naming the fix


def test_fitting_on_full_information_moves_the_policy_to_the_best_candidate():
    f = torch.eye(len(FEATURES))[[0, 2, 3]]  # fresh, recall, merge
    decisions = [(f, torch.tensor([0.5, 0.9, 0.6]), ["fresh", "recall", "merge"])]
    weights = torch.zeros(len(FEATURES), requires_grad=True)
    before = regrets(weights, decisions)
    assert before["regret_policy"] == before["regret_fresh"] == pytest.approx(0.4)  # ties: the first candidate
    fit(weights, decisions, steps=50, lr=0.1, l2=0.0)
    after = regrets(weights, decisions)
    assert after["regret_policy"] == 0.0 and after["regret_nearest"] == 0.0
    assert abs(after["regret_uniform"] - (0.9 - 2.0 / 3)) < 1e-6


def test_the_trial_rule_tries_every_candidate_and_records_its_rewards():
    from tests.rl.test_policy import returning_task_context

    ctx, previous = returning_task_context()
    tried = []
    ctx.trial = lambda d: tried.append(d.action) or [0.5, 1.0 if d.entries == [1] else 0.5]
    rule = TrialRule(torch.zeros(len(FEATURES)), 3, 2, torch.Generator().manual_seed(0))
    rule._last_query = previous
    assert isinstance(rule.decide(ctx), Decision)
    features, rewards, kinds = rule.decisions[0]
    assert tried == kinds == ["fresh", "carry", "recall", "recall", "recall", "merge"]
    assert rewards.max() == 0.75 and len(features) == len(kinds)


def test_recalling_another_tasks_entry_costs_the_overwrite_cost():
    from tests.rl.test_policy import returning_task_context

    ctx, previous = returning_task_context()
    ctx.task, ctx.trial = 1, lambda d: [0.5]
    rule = TrialRule(torch.zeros(len(FEATURES)), 3, 2, torch.Generator().manual_seed(0), overwrite_cost=0.3)
    rule._last_query = previous
    decisions, _ = candidates(ctx, previous, 3)
    rule.decide(ctx)
    _, rewards, _ = rule.decisions[0]
    expected = [0.2 if d.action == "recall" and d.entries != [1] else 0.5 for d in decisions]
    assert rewards.tolist() == pytest.approx(expected)  # recalling task 1's own entry, merging: no cost
