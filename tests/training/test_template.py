"""TensorTemplate takes the tensor path only where it is safe, and plugins see the same loop."""

import copy
import warnings

import torch

from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.training.loader import TensorBatchLoader


def make(scenario, plugins):
    from avalanche.core import SupervisedPlugin
    from avalanche.training.plugins import EvaluationPlugin

    from nsr_bench.training.template import TensorTemplate

    class LoaderSpy(SupervisedPlugin):
        def __init__(self):
            super().__init__()
            self.train, self.eval = [], []

        def before_training_epoch(self, strategy, **kwargs):
            self.train.append(type(strategy.dataloader))

        def before_eval_iteration(self, strategy, **kwargs):
            self.eval.append(type(strategy.dataloader))

    torch.manual_seed(0)
    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes, scenario.task_classes())
    spy = LoaderSpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator = EvaluationPlugin(loggers=[])
    strategy = TensorTemplate(model=model, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                              criterion=torch.nn.CrossEntropyLoss(), train_mb_size=16, train_epochs=2,
                              device="cpu", plugins=[*plugins(model), spy], evaluator=evaluator)
    return strategy, spy


def test_tensor_path_for_plain_experiences(tiny_scenario):
    strategy, spy = make(tiny_scenario, lambda m: [])
    bm = tiny_scenario.benchmark()
    strategy.train(bm.train_stream[0], num_workers=0)
    strategy.eval(bm.test_stream, num_workers=0)
    assert set(spy.train) == set(spy.eval) == {TensorBatchLoader}


def test_avalanche_loader_when_a_plugin_changes_the_dataset(tiny_scenario):
    from nsr_bench.plugins.cumulative import CumulativePlugin

    strategy, spy = make(tiny_scenario, lambda m: [CumulativePlugin()])
    for exp in tiny_scenario.benchmark().train_stream[:2]:
        strategy.train(exp, num_workers=0)
    assert spy.train[0] is TensorBatchLoader  # nothing stored yet: the dataset is untouched
    assert TensorBatchLoader not in spy.train[2:]  # concatenated with the stored data


def test_training_loss_is_task_masked_and_plugins_see_raw_logits(tiny_scenario):
    """The criterion restricts each sample to its task's classes; ``mb_output`` stays the raw logits."""
    from avalanche.core import SupervisedPlugin
    from torch.nn import functional as F

    class LossCheck(SupervisedPlugin):
        checked = 0

        def before_backward(self, strategy, **kwargs):
            raw, y = strategy.mb_output, strategy.mb_y
            masked = strategy.model.head.mask_tasks(raw, strategy.mb_task_id)
            assert (raw > -1e8).all()
            assert torch.allclose(strategy.loss, F.cross_entropy(masked, y))
            assert not torch.allclose(strategy.loss, F.cross_entropy(raw, y))
            self.checked += 1

    check = LossCheck()
    strategy, _ = make(tiny_scenario, lambda m: [check])
    strategy.train(tiny_scenario.benchmark().train_stream[1], num_workers=0)
    assert check.checked > 0
