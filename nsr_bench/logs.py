"""Training logs of computed cells through Avalanche's own loggers (TensorBoard, Weights & Biases offline,
CSV), fed by Avalanche's loss and accuracy metrics. They are never part of a cell's identity: the cell, its
hash and its stored numbers are the same with and without them (the metrics only read the loop's outputs),
and a reused cell writes no log."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

KINDS = ("tensorboard", "wandb", "csv")


def parse_kinds(values: list[str]) -> tuple[str, ...]:
    """``--log`` values (repeated or comma lists) as the distinct kinds in order; a SpecError for others."""
    from nsr_bench.config import SpecError

    kinds = [k.strip() for value in values for k in value.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise SpecError(f"--log {','.join(unknown)}: unknown logger; choose from {', '.join(KINDS)}")
    return tuple(dict.fromkeys(kinds))


def default_folder(results: str) -> Path:
    """``logs/`` next to the results' SQLite file, or ``./logs`` for a database server."""
    from nsr_bench.results.store import store_url

    url = store_url(results)
    return Path(url.removeprefix("sqlite:///")).parent / "logs" if url.startswith("sqlite:///") else Path("logs")


@dataclass(frozen=True)
class TrainingLogs:
    """Log each computed cell's training with the loggers ``kinds`` into ``folder / <cell hash> / <kind>``."""

    kinds: tuple[str, ...]
    folder: Path

    @contextmanager
    def evaluation(self, cell) -> Iterator[tuple[list, list]]:
        """(metrics, loggers) for ``cell``'s Avalanche evaluation plugin: loss, and accuracy as the cell
        measures it (:func:`task_masked_accuracy`); the loggers are closed (files flushed, the W&B run
        finished) at the end."""
        from avalanche.evaluation.metrics import loss_metrics

        with ExitStack() as stack:
            loggers = [self._open(kind, self.folder / cell.hash, cell, stack) for kind in self.kinds]
            yield [loss_metrics(minibatch=True, epoch=True, experience=True), *task_masked_accuracy()], loggers

    @staticmethod
    def _open(kind: str, folder: Path, cell, stack: ExitStack):
        if kind == "tensorboard":
            from avalanche.logging import TensorboardLogger

            logger = TensorboardLogger(tb_log_dir=folder / kind)
            stack.callback(logger.writer.close)
        elif kind == "csv":
            from avalanche.logging import CSVLogger

            logger = CSVLogger(log_folder=folder / kind)
            stack.callback(logger.close)
        else:
            os.environ.setdefault("WANDB_MODE", "offline")  # no network unless WANDB_MODE says otherwise
            os.environ.setdefault("WANDB_SILENT", "true")  # stdout stays the command's (--json)
            folder.mkdir(parents=True, exist_ok=True)  # W&B writes its runs into folder/wandb
            logger = scalar_wandb_logger()(
                project_name="nsr-bench", run_name=f"{cell.strategy} seed {cell.seed} {cell.hash}", dir=folder,
                save_code=False, config=cell.model_dump(mode="json"),
                params={"id": f"{cell.hash}-{secrets.token_hex(4)}"})  # a fresh run each time
            stack.callback(logger.wandb.finish)
        return logger


def task_masked_accuracy() -> list:
    """Avalanche's epoch, experience and stream accuracy on the outputs masked to each sample's own task, as
    the cell's oracle accuracy matrix and recovery curves measure it. On the raw outputs of a
    task-incremental head, the classes of the other tasks win the argmax and the logged accuracy says 0."""
    from avalanche.evaluation.metrics.accuracy import EpochAccuracy, ExperienceAccuracy, StreamAccuracy

    def masked(metric: type):
        class TaskMasked(metric):
            def update(self, strategy):
                outputs = strategy.model.head.mask_tasks(strategy.mb_output, strategy.mb_task_id)
                self._metric.update(outputs, strategy.mb_y)

        return TaskMasked()

    return [masked(m) for m in (EpochAccuracy, ExperienceAccuracy, StreamAccuracy)]


def scalar_wandb_logger() -> type:
    """Avalanche's ``WandBLogger`` logging the scalars the cells' metrics give: its own method looks up
    ``wandb.viz``, which the wandb releases since 0.19 no longer have."""
    from avalanche.logging import WandBLogger

    class ScalarWandBLogger(WandBLogger):
        def log_single_metric(self, name, value, x_plot):
            self.step = x_plot
            if isinstance(value, float | int):
                self.wandb.log({name: value}, step=x_plot)

    return ScalarWandBLogger
