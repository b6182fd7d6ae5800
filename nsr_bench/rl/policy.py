"""The learned allocator's policy and its versioned file.

A policy is a linear score per candidate (weights over :data:`~nsr_bench.rl.features.FEATURES`) and a
softmax over the candidates of one decision. Its file is JSON: ``version``, ``features`` (names, in
order), ``weights``, and what produced it (``training``: the command's configuration, the training
streams and seeds, the per-episode ``curve``). Shipped policies live in ``nsr_bench/policies`` and are
named without the suffix (``rl_v1``); any other ``*.json`` path works too. A cell's identity holds the
file's SHA-256 (the rule's ``input_files``), so a retrained policy gives its cells new hashes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from nsr_bench.config import SpecError
from nsr_bench.outputs import OutputFolder
from nsr_bench.rl.features import FEATURES

VERSION = 1
SHIPPED = Path(__file__).resolve().parent.parent / "policies"


def policy_path(name: str) -> Path:
    """The file of policy ``name``: a shipped policy's name (``rl_v1``) or a path to a ``.json`` file."""
    path = Path(name) if name.endswith(".json") else SHIPPED / f"{name}.json"
    if not path.is_file():
        shipped = sorted(p.stem for p in SHIPPED.glob("*.json"))
        raise SpecError(f"policy {name!r}: no file {path}; name a shipped policy {shipped} or a .json file "
                        "written by `nsr-bench train-rl --out FILE`")
    return path


class Policy:
    """Linear-softmax scores over candidate feature rows, with the record of how it was trained."""

    def __init__(self, weights: Tensor, training: dict[str, Any] | None = None):
        if weights.shape != (len(FEATURES),):
            raise ValueError(f"a policy has {len(FEATURES)} weights (one per feature), got {tuple(weights.shape)}")
        self.weights, self.training = weights.detach().float().clone(), training or {}

    def probabilities(self, features: Tensor) -> Tensor:
        """Softmax over the candidates (rows of ``features``)."""
        return torch.softmax(features @ self.weights, 0)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "features": list(FEATURES), "weights": self.weights.tolist(),
                "training": self.training}

    def save(self, out: OutputFolder, name: str) -> Path:
        """Write the policy as JSON file ``name`` into ``out``; returns its path."""
        return out.write_text(name, json.dumps(self.to_json()))

    @classmethod
    def load(cls, name: str) -> Policy:
        """Policy ``name`` (see :func:`policy_path`); a file of another version or feature set is refused."""
        path = policy_path(name)
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise SpecError(f"policy file {path} is not JSON ({exc}); retrain it with `nsr-bench train-rl`") \
                from None
        if data.get("version") != VERSION or data.get("features") != list(FEATURES):
            raise SpecError(f"policy file {path} has version {data.get('version')} and features "
                            f"{data.get('features')}; this nsr-bench reads version {VERSION} with features "
                            f"{list(FEATURES)}: retrain it with `nsr-bench train-rl --out {path}`")
        return cls(torch.tensor(data["weights"]), data.get("training"))
