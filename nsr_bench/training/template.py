"""TensorTemplate: Avalanche's ``SupervisedTemplate`` with tensor minibatches where the data allows."""

from __future__ import annotations

import torch
from avalanche.training.templates import SupervisedTemplate

from nsr_bench.models.masked_head import TaskMaskedHead
from nsr_bench.training.loader import TensorBatchLoader


class TensorTemplate(SupervisedTemplate):
    """``SupervisedTemplate`` whose train and eval loaders slice the experience's in-memory tensors, and
    whose training loss is task-incremental when the model's head is task-masked.

    The fast path is taken only when the experience carries ``tensors`` and no plugin replaced the
    adapted dataset (a plugin that concatenates or augments data, such as cumulative training, gets
    Avalanche's own loader); plugins that swap the loader afterwards (replay) keep working. The training
    criterion sees each sample's logits masked to its own task's classes (replayed samples keep theirs),
    while ``mb_output`` stays raw for every plugin. Everything else - plugins, hooks, the optimizer, the
    evaluation - is Avalanche's unchanged loop.
    """

    _pristine = None

    def __init__(self, *, data_order: torch.Generator | None = None, **kwargs):
        """``data_order`` draws the training minibatch order of the tensor loader (the cell's own stream)."""
        super().__init__(**kwargs)
        self.data_order = data_order

    def train_dataset_adaptation(self, **kwargs):
        super().train_dataset_adaptation(**kwargs)
        self._pristine = self.adapted_dataset

    def eval_dataset_adaptation(self, **kwargs):
        super().eval_dataset_adaptation(**kwargs)
        self._pristine = self.adapted_dataset

    def make_train_dataloader(self, num_workers=0, shuffle=True, **kwargs):
        if not self._tensor_loader(self.train_mb_size, shuffle, self.data_order):
            super().make_train_dataloader(num_workers=num_workers, shuffle=shuffle, **kwargs)

    def make_eval_dataloader(self, num_workers=0, shuffle=False, mode=None, split=None, **kwargs):
        if not self._tensor_loader(self.eval_mb_size, shuffle):
            super().make_eval_dataloader(num_workers=num_workers, shuffle=shuffle, **kwargs)

    def criterion(self):
        head = self.model.head
        if self.is_training and isinstance(head, TaskMaskedHead):
            return self._criterion(head.mask_tasks(self.mb_output, self.mb_task_id), self.mb_y)
        return super().criterion()

    def _tensor_loader(self, batch_size: int, shuffle: bool, generator: torch.Generator | None = None) -> bool:
        """Install a :class:`TensorBatchLoader` if the data allows; False means use Avalanche's."""
        tensors = getattr(self.experience, "tensors", None)
        if tensors is None or self.adapted_dataset is not self._pristine:
            return False
        # kept on the device: copied once, a no-op ``to`` for later loaders and samples
        self.experience.tensors = tensors = tuple(t.to(self.device) for t in tensors)
        self.dataloader = TensorBatchLoader(*tensors, int(self.experience.task_label), batch_size, shuffle,
                                            self.device, generator)
        return True
