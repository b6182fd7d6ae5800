"""Shared set-up of the benchmarks: the embedded scenario's model, data and strategies."""

from __future__ import annotations

import copy
import time
import warnings

import torch

from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.nsr.lora import attach_lora
from nsr_bench.plugins.lora_adapters import LoRAAdapters
from nsr_bench.scenarios.digits import digits_cyclic
from nsr_bench.strategies import nsr
from nsr_bench.strategies.contract import BuildContext

EPOCHS, BATCH = 4, 32
torch.set_flush_denormal(True)  # the numerics every cell runs with (execution.flushed_subnormals), for every loop


def scenario():
    return digits_cyclic(seed=0)


def model(sc) -> AdapterNet:
    torch.manual_seed(0)
    return AdapterNet(copy.deepcopy(sc.backbone), sc.num_classes, sc.task_classes())


class StepTimes(list):
    """Seconds of every training step (forward, loss, backward, optimizer step and their hooks)."""


def bare_loop(sc):
    """The reference: a plain PyTorch loop over tensors, same model (LoRA attached), loss and optimizer, on the
    experience the Avalanche loops train (the stream's second: an occurrence's draw, not the task's pool)."""
    net = model(sc)
    attach_lora(net, net.lora_targets, 4, 8.0)
    x, y = sc.train_data[1]
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    steps = StepTimes()

    def run():
        net.train()
        for _ in range(EPOCHS):
            perm = torch.randperm(len(y))
            for i in range(0, len(perm), BATCH):
                idx = perm[i:i + BATCH]
                start = time.perf_counter()
                loss = loss_fn(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps.append(time.perf_counter() - start)
    run.steps = steps
    return run


def avalanche_strategy(sc, make_plugins):
    """One experience of training per call through our loop (``make_plugins(model)`` gives the plugins);
    ``.steps`` collects the step times."""
    from avalanche.core import SupervisedPlugin
    from avalanche.training.plugins import EvaluationPlugin

    from nsr_bench.training.template import TensorTemplate

    net = model(sc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator = EvaluationPlugin(loggers=[])
    strategy = TensorTemplate(model=net, optimizer=torch.optim.Adam(net.parameters(), lr=1e-2),
                              criterion=torch.nn.CrossEntropyLoss(), train_mb_size=BATCH, train_epochs=EPOCHS,
                              device="cpu", plugins=make_plugins(net), evaluator=evaluator)
    stream = sc.benchmark().train_stream
    strategy.train(stream[0], num_workers=0)  # a prior task, so distillation has classes to protect
    exp = stream[1]
    steps = StepTimes()

    class StepTimer(SupervisedPlugin):
        def before_training_iteration(self, strategy, **kwargs):
            self.start = time.perf_counter()

        def after_update(self, strategy, **kwargs):
            steps.append(time.perf_counter() - self.start)

    strategy.plugins.append(StepTimer())

    def run():
        strategy.train(exp, num_workers=0)
    run.steps = steps
    return run


def lora_strategy(sc):
    """Plain LoRA training through Avalanche: one adapter, no Bank, no distillation."""
    return avalanche_strategy(sc, lambda net: [LoRAAdapters(net.lora_targets)])


def nsr_strategy(sc, distill: float = 1.0):
    """NSR: similarity allocation with the Bank (compress + reserve every experience)."""
    params = nsr.Params(distill_lambda=distill)
    return avalanche_strategy(sc, lambda net: nsr.build(params, BuildContext(net, sc, 0, "cpu")))


DEFAULT_CELLS = ("nsr", "fresh", "carry")  # what ``nsr-bench run`` runs by default


def default_cells_seconds(strategies=DEFAULT_CELLS, scenario: str = "digits_cyclic", seed: int = 0) -> float:
    """Wall time of executing the given cells (nothing stored), in this process."""
    from nsr_bench.execution import execute_cell
    from nsr_bench.resolution import resolve_cell

    start = time.perf_counter()
    for name in strategies:
        execute_cell(resolve_cell(scenario, name, seed, "cpu"))
    return time.perf_counter() - start
