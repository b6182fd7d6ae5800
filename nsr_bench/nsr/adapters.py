"""The active adapter of a model: its LoRA factors and head, captured, restored, reset or loaded from the Bank.

Every adapter strategy, the distillation teacher and the Bank's evaluation routing change the same
tensors in place (the optimizer keeps holding them); this is the one place that knows how.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from nsr_bench.nsr.bank import TaskKnowledgeBank
from nsr_bench.nsr.lora import LoRALayer, attach_lora, lora_layers

State = dict[str, Tensor]


class ActiveAdapter:
    """The LoRA layers and the head of ``model``: the part of the model that strategies swap."""

    def __init__(self, model: nn.Module, layers: dict[str, LoRALayer]):
        self.model, self.layers = model, layers

    @classmethod
    def attach(cls, model: nn.Module, targets: list[str], rank: int, alpha: float,
               generator: torch.Generator | None = None) -> ActiveAdapter:
        """Wrap ``targets`` of ``model`` with LoRA layers (idempotent) and return the adapter."""
        return cls(model, attach_lora(model, targets, rank, alpha, generator))

    @classmethod
    def of(cls, model: nn.Module) -> ActiveAdapter:
        """The adapter formed by whatever LoRA layers ``model`` already has."""
        return cls(model, lora_layers(model))

    @property
    def head(self) -> nn.Linear:
        return self.model.head

    def capture(self) -> State:
        """A detached copy of the adapter factors and the head."""
        state = {f"{n}.A": layer.lora_A for n, layer in self.layers.items()}
        state.update({f"{n}.B": layer.lora_B for n, layer in self.layers.items()})
        state.update({"head.weight": self.head.weight, "head.bias": self.head.bias})
        return {k: v.detach().clone() for k, v in state.items()}

    def restore(self, state: State) -> None:
        with torch.no_grad():
            for n, layer in self.layers.items():
                layer.lora_A.copy_(state[f"{n}.A"])
                layer.lora_B.copy_(state[f"{n}.B"])
            self.head.weight.copy_(state["head.weight"])
            self.head.bias.copy_(state["head.bias"])

    def reset(self, generator: torch.Generator, classes: list[int] | None = None) -> None:
        """A fresh adapter (zero update, ``A`` drawn from ``generator``) and re-initialised head rows of
        ``classes`` (all rows if None), drawn from the same stream. The other rows are kept: they are
        other tasks' classifiers, and wiping them would manufacture forgetting. The whole head is drawn
        either way, so the stream advances alike."""
        for layer in self.layers.values():
            layer.reset_adapter(generator)
        kept = None if classes is None else (self.head.weight.detach().clone(), self.head.bias.detach().clone())
        self.head.reset_parameters(generator)
        if kept is not None:
            others = torch.ones(self.head.out_features, dtype=torch.bool, device=self.head.weight.device)
            others[classes] = False
            with torch.no_grad():
                self.head.weight[others] = kept[0][others]
                self.head.bias[others] = kept[1][others]

    def load(self, bank: TaskKnowledgeBank, entries: list[int], weights: list[float],
             generator: torch.Generator) -> None:
        """Make the adapter the weighted sum of Bank ``entries`` (head rows per class, weight-averaged)."""
        stored = [bank[e] for e in entries]
        for name, layer in self.layers.items():
            parts = [s.layers[name] for s in stored]  # sum_i w_i U_i S_i Vh_i, stacked on the inner axis
            left = torch.cat([w * p.U.float() * p.S.float() for p, w in zip(parts, weights, strict=True)], 1)
            layer.load_factors(left, torch.cat([p.Vh.float() for p in parts]), generator)
        rows: dict[int, list[tuple[float, Tensor, Tensor]]] = {}
        for s, w in zip(stored, weights, strict=True):
            for r, c in enumerate(s.meta.classes):
                rows.setdefault(c, []).append((w, s.head_weight[r], s.head_bias[r]))
        head = self.head
        with torch.no_grad():
            for c, parts in rows.items():
                total = sum(w for w, _, _ in parts)
                head.weight[c] = sum(w * hw.float() for w, hw, _ in parts).to(head.weight) / total
                head.bias[c] = sum(w * hb.float() for w, _, hb in parts).to(head.bias) / total
