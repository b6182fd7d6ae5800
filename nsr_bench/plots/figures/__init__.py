"""One module per paper figure. Each figure function reads :class:`~nsr_bench.plots.data.Results` and a
:class:`~nsr_bench.plots.spec.FigureSpec`, writes ``<out>/<name>.pdf`` and ``.png`` in the style of
:mod:`nsr_bench.plots.style` and returns a :class:`~nsr_bench.plots.rendered.Rendered` (with its caption),
or raises :class:`NoData` saying what the figure needs."""

from nsr_bench.metrics.stats import RANGES
from nsr_bench.plots.figures.ablation import ablation
from nsr_bench.plots.figures.accuracy_matrices import accuracy_matrices
from nsr_bench.plots.figures.common import NoData, headline, interval, reference_name
from nsr_bench.plots.figures.memory_budget import cap_sweep, memory_budget
from nsr_bench.plots.figures.metric_bars import metric_bars
from nsr_bench.plots.figures.optuna_study import optuna_history, optuna_importances
from nsr_bench.plots.figures.recovery_curves import recovery_curves
from nsr_bench.plots.figures.regret_vs_cycles import regret_vs_cycles

FIGURES = (recovery_curves, regret_vs_cycles, accuracy_matrices, metric_bars, ablation, memory_budget)
"""The figures of a results store, in the report's order."""
STUDY_FIGURES = (optuna_history, optuna_importances)
"""The figures of one Optuna study."""

__all__ = ["FIGURES", "RANGES", "STUDY_FIGURES", "NoData", "ablation", "accuracy_matrices", "cap_sweep",
           "headline", "interval", "memory_budget", "metric_bars", "optuna_history", "optuna_importances",
           "recovery_curves", "reference_name", "regret_vs_cycles"]
