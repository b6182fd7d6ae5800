"""TensorTemplate takes the tensor path only where it is safe, and plugins see the same loop."""

import copy
import warnings

import torch

from nsr_bench.nsr.allocation import SimilarityRule
from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.distill import teacher_log_probs
from nsr_bench.nsr.plugin import NSRPlugin
from nsr_bench.scenarios.backbones import AdapterNet
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
    model = AdapterNet(copy.deepcopy(scenario.backbone), scenario.num_classes)
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
    from nsr_bench.strategies.cumulative import CumulativePlugin

    strategy, spy = make(tiny_scenario, lambda m: [CumulativePlugin()])
    for exp in tiny_scenario.benchmark().train_stream[:2]:
        strategy.train(exp, num_workers=0)
    assert spy.train[0] is TensorBatchLoader  # nothing stored yet: the dataset is untouched
    assert TensorBatchLoader not in spy.train[2:]  # concatenated with the stored data


def test_precomputed_teacher_logits_are_the_teachers_outputs(tiny_scenario):
    from avalanche.core import SupervisedPlugin

    class TeacherCheck(SupervisedPlugin):
        def __init__(self, nsr):
            super().__init__()
            self.nsr, self.checked = nsr, 0

        def before_backward(self, strategy, **kwargs):
            cached = self.nsr._teacher_logits
            if cached is None:
                return
            with torch.no_grad():
                live = self.nsr._teacher_model(strategy.model)(strategy.mb_x)
            expected = teacher_log_probs(live, self.nsr._prior, self.nsr.temperature)
            assert torch.allclose(cached[2][strategy.dataloader.indices], expected, atol=1e-5)
            self.checked += 1

    def plugins(model):
        nsr = NSRPlugin(SimilarityRule(), TaskKnowledgeBank(), model.lora_targets, rank=2, embed_samples=32,
                        reference=tiny_scenario.reference)
        return [nsr, TeacherCheck(nsr)]

    strategy, _ = make(tiny_scenario, plugins)
    for exp in tiny_scenario.benchmark().train_stream[:2]:
        strategy.train(exp, num_workers=0)
    assert strategy.plugins[1].checked > 0
