"""The recorder measures every strategy's recovery curves at the same points (the experience's step grid)."""

import pytest
from avalanche.core import SupervisedPlugin

from nsr_bench.metrics.recorder import curve_grid
from nsr_bench.plugins.cumulative import CumulativePlugin
from nsr_bench.plugins.prototypes import PrototypePlugin
from nsr_bench.training.inference import batched, evaluating
from tests.plugins.helpers import make_strategy

EXPERIENCES = 4  # tasks 0, 1, 2, 0 of the tiny stream: one recurrence


class StopAfter(SupervisedPlugin):
    """Stop training after ``steps`` optimizer steps of every experience."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps, self.taken = steps, 0

    def before_training_exp(self, strategy, **kwargs):
        self.taken = 0

    def after_training_iteration(self, strategy, **kwargs):
        self.taken += 1
        if self.taken >= self.steps:
            strategy.stop_training()


def curves(tiny_scenario, make_plugins):
    """The recorded curves of the first experiences, and the strategy that trained them."""
    _, strategy, recorder = make_strategy(tiny_scenario, make_plugins)
    for exp in list(tiny_scenario.benchmark().train_stream)[:EXPERIENCES]:
        strategy.train(exp, num_workers=0)
    return recorder.curves, strategy


@pytest.fixture(scope="module")
def trained(tiny_scenario):
    return curves(tiny_scenario, lambda model: [])[0]


def test_the_grid_counts_the_last_partial_batch():
    assert list(curve_grid(33, 16, 2, 4)) == [0, 4]  # 2 epochs x 3 batches = 6 steps
    assert list(curve_grid(32, 16, 2, 2)) == [0, 2, 4]


def test_a_trained_strategy_is_measured_on_the_grid(tiny_scenario, trained):
    exp = next(iter(tiny_scenario.benchmark().train_stream))
    assert trained[0].steps == list(curve_grid(len(exp.dataset), 16, 2, 4))
    assert len(trained[0].steps) > 2


def test_a_training_free_strategy_gets_the_trained_grid_at_its_one_accuracy(tiny_scenario, trained):
    """NCM takes no step: it had one point per experience, now the grid's with its interval-0 accuracy."""
    ncm, _ = curves(tiny_scenario, lambda model: [PrototypePlugin()])
    assert [c.steps for c in ncm] == [c.steps for c in trained]
    assert all(c.acc == [c.acc[0]] * len(c.acc) for c in ncm)


def test_a_strategy_stopping_between_grid_points_gets_its_final_accuracy(tiny_scenario, trained):
    stopped, strategy = curves(tiny_scenario, lambda model: [StopAfter(5)])  # grid points every 4 steps
    assert [c.steps for c in stopped] == [c.steps for c in trained]
    last = stopped[-1]
    x, y, _ = tiny_scenario.test_sets()[last.task]
    with evaluating(strategy.model) as model:
        final = float((model.head.mask_task(batched(model, x), last.task).argmax(1) == y).float().mean())
    assert last.acc[2:] == pytest.approx([final] * (len(last.acc) - 2))
    assert last.acc[1] != last.acc[2]  # the fifth step moved the model after the point at step 4


def test_a_strategy_with_a_longer_loader_is_not_measured_past_the_grid(tiny_scenario, trained):
    """Cumulative training concatenates earlier tasks' data: more steps, the same curve points."""
    cumulative, _ = curves(tiny_scenario, lambda model: [CumulativePlugin()])
    assert [c.steps for c in cumulative] == [c.steps for c in trained]
