"""NCM: nearest-class-mean prototypes on frozen features (a SimpleCIL-style reference), no training.

Zhou et al., "Revisiting Class-Incremental Learning with Pre-Trained Models" (SimpleCIL), 2023;
Mensink et al., NCM, TPAMI 2013.
"""

from __future__ import annotations

from nsr_bench.config import Strict
from nsr_bench.strategies.common import BaselineParams, baseline_plugins
from nsr_bench.strategies.contract import BuildContext


class Params(Strict):
    """NCM has no hyper-parameters: it writes class means into the head of the frozen model."""


def build(params: Params, ctx: BuildContext) -> list:
    from nsr_bench.plugins.prototypes import PrototypePlugin

    return baseline_plugins(BaselineParams(), ctx, PrototypePlugin(), adapters=False)
