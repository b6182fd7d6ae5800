"""The contract between the runner and a method module (one per file under :mod:`nsr_bench.strategies`,
or an add-on's module registered under the entry-point group ``nsr_bench.strategies``).

A method module defines

- ``Params``: a pydantic model of exactly the parameters it reads (the spec's ``defaults``, tuned ``best``
  settings and selector overrides are validated against it when a cell is resolved);
- ``build(params: Params, ctx: BuildContext) -> list``: the Avalanche plugins that make the method;

and may define

- ``resolve_params(raw: dict, other: Callable[[str], dict]) -> dict``: fill in parameters from other specs
  resolved on the same scenario (``other(name)``), so that they are part of the cell's hash;
- ``input_files(params: dict) -> list[Path]``: files the method reads (a learned policy), whose SHA-256
  becomes part of the cell's identity;
- ``Params.check_backbone(backbone) -> None``: refuse, with a ``ValueError`` saying why, parameters the
  model cannot take (a LoRA rank above a layer's); called at resolve time on the untrained backbone that
  the scenario builder's module describes (its ``skeleton(params)``), before anything is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class BuildContext:
    """What a strategy's ``build`` gets: the model to adapt, the scenario, the seed and device, and the
    cell's random streams (one per purpose, from the seed: :mod:`nsr_bench.training.streams`)."""

    model: Any
    scenario: Any
    seed: int
    device: str
    streams: Any = None

    def __post_init__(self) -> None:
        if self.streams is None:
            from nsr_bench.training.streams import RandomStreams

            self.streams = RandomStreams(self.seed)
