"""A strategy on the tiny digits stream with given plugins, in our template or Avalanche's stock one."""

from __future__ import annotations

import copy
import warnings

import torch

from nsr_bench.metrics.recorder import AccuracyRecorder
from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.strategies.contract import BuildContext


def make_strategy(scenario, make_plugins, stock: bool = False, task_classes=None, epochs: int = 2):
    """``(model, strategy, recorder)``; ``make_plugins(model)`` gives the plugins under test, and
    ``task_classes`` overrides the head's task map (e.g. one shared head)."""
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.templates import SupervisedTemplate

    from nsr_bench.training.template import TensorTemplate

    torch.manual_seed(0)
    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes,
                       task_classes or scenario.task_classes())
    recorder = AccuracyRecorder(scenario.test_sets(), eval_every=4, batch_size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator = EvaluationPlugin(loggers=[])
    template = SupervisedTemplate if stock else TensorTemplate
    strategy = template(model=model, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                        criterion=torch.nn.CrossEntropyLoss(), train_mb_size=16, train_epochs=epochs,
                        eval_mb_size=256, device="cpu", plugins=[*make_plugins(model), recorder],
                        evaluator=evaluator)
    return model, strategy, recorder


def nsr_plugins(scenario, **params):
    """NSR's plugin stack as its method builds it (tiny settings), for ``make_strategy``."""
    from nsr_bench.strategies import nsr

    settings = {"rank": 2, "embed_samples": 64, "cap": 10, **params}
    return lambda model: nsr.build(nsr.Params(**settings), BuildContext(model, scenario, 0, "cpu"))


def plugin_of(strategy, kind):
    return next(p for p in strategy.plugins if isinstance(p, kind))
