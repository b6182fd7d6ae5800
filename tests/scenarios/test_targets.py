"""The common recovery targets: a dedicated adapter's validation accuracy, shared and never from the test set."""

import torch

from nsr_bench.config import TrainSpec
from nsr_bench.scenarios.targets import dedicated_targets

TRAIN = TrainSpec(epochs=1, batch_size=16)


def test_targets_are_validation_accuracies_of_a_dedicated_adapter(tiny_scenario):
    targets = dedicated_targets(tiny_scenario, TRAIN, seed=0)
    assert sorted(targets) == [0, 1, 2]
    for task, value in targets.items():
        n_val = len(tiny_scenario.tasks[task].y_val)
        assert 0.0 <= value <= 1.0 and abs(value * n_val - round(value * n_val)) < 1e-6  # a share of val samples
    assert dedicated_targets(tiny_scenario, TRAIN, seed=0) == targets  # cached, and shared by every strategy
    assert dedicated_targets(tiny_scenario, TrainSpec(epochs=2, batch_size=16), seed=0) != targets


def test_targets_never_read_the_test_set(tiny_scenario):
    import copy

    scrambled = copy.deepcopy(tiny_scenario)
    for task in scrambled.tasks:
        task.y_test = task.y_test[torch.randperm(len(task.y_test))]
        task.x_test = torch.zeros_like(task.x_test)
    assert dedicated_targets(scrambled, TRAIN, seed=0) == dedicated_targets(tiny_scenario, TRAIN, seed=0)


def test_targets_are_recomputed_under_other_code(tiny_scenario, monkeypatch):
    """The model's arithmetic is code: a target cached by other code is not reused."""
    import nsr_bench.scenarios.targets as targets
    from nsr_bench import memo

    key = targets._recipe(tiny_scenario, TRAIN, 0, "cpu").key
    monkeypatch.setattr(memo, "_digest", lambda entry: "other-code")
    assert targets._recipe(tiny_scenario, TRAIN, 0, "cpu").key != key
