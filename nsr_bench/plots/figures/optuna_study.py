"""A sweep's optimisation history and parameter importances, drawn by Optuna's own matplotlib plots in the
figures' style."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.figures.common import NoData, metric_name, stream_name
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import display_name

IMPORTANCE_TRIALS = 10
"""Completed trials a study needs before its parameter importances (fANOVA) are drawn."""
TRIAL_COLOUR, BEST_COLOUR = "#0072B2", "#D55E00"


def _completed(study) -> list:
    from optuna.trial import TrialState

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if len(done) < 2 or len(study.directions) > 1:
        raise NoData(f"study {study.study_name}: needs 2+ completed single-objective trials")
    return done


def _about(study) -> tuple[str, str]:
    """(what was tuned, the objective's printed name) from the name ``nsr-bench sweep`` gives a study
    (``sweep-<strategy>-<scenario>-<objective>[-test]``); the study's name and "Objective" otherwise."""
    parts = study.study_name.split("-")
    if parts[0] != "sweep" or len(parts) < 4:
        return f"sweep {study.study_name}", "Objective"
    return f"{display_name(parts[1])} on {stream_name(parts[2])}", metric_name(parts[3])


def _plot(plot, study, objective: str, height: float):
    """The axes of Optuna's matplotlib ``plot`` of ``study`` (drawn in its ggplot style, its interface marked
    experimental) restyled to :data:`style.RC`: size, white background, fonts, no title, no legend."""
    import warnings

    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning

    style.apply()
    with plt.style.context(style.RC), warnings.catch_warnings():  # the context undoes Optuna's ggplot style
        warnings.simplefilter("ignore", ExperimentalWarning)
        ax = plot(study, target_name=objective)
    fig = ax.figure
    fig.set_size_inches(style.SINGLE, height)
    fig.set_layout_engine("constrained")
    for loc in ("left", "center", "right"):
        ax.set_title("", loc=loc)
    ax.set_facecolor("white")
    ax.grid(True, color=style.RC["grid.color"], lw=style.RC["grid.linewidth"])
    for side, spine in ax.spines.items():
        spine.set_visible(side in ("left", "bottom"))
        spine.set_color(style.RC["axes.edgecolor"])
    ax.tick_params(labelsize=style.RC["xtick.labelsize"], colors=style.RC["axes.edgecolor"])
    for text in (ax.xaxis.label, ax.yaxis.label):
        text.set_fontsize(style.RC["axes.labelsize"])
        text.set_color("black")
    if ax.get_legend():
        ax.get_legend().remove()
    return ax


def optuna_history(study, out: OutputFolder) -> Rendered:
    """Each completed trial's objective and the best so far (in the study's direction), by
    :func:`optuna.visualization.matplotlib.plot_optimization_history`."""
    import optuna
    from matplotlib.ticker import MaxNLocator

    done = _completed(study)
    tuned, objective = _about(study)
    ax = _plot(optuna.visualization.matplotlib.plot_optimization_history, study, objective, 2.4)
    for points in ax.collections:
        points.set_color(TRIAL_COLOUR)
        points.set_sizes([12])
    for line in ax.get_lines():
        line.set(color=BEST_COLOUR, alpha=1.0, lw=style.LINE, label="Best so far")
    ax.collections[0].set_label("Trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Trial")
    style.legend_below(ax.figure, *style.entries([ax]), cols=2)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    left = len(study.trials) - len(done)
    caption = (f"{objective} of each of the {len(done)} completed trials tuning {tuned} "
               f"(study {study.study_name}) and the best so far ({'highest' if maximize else 'lowest'}: the study "
               f"{'maximises' if maximize else 'minimises'}); one seed per trial: n = 1: no interval."
               + (f" {left} pruned, failed or running trials are left out." if left else ""))
    return Rendered(style.save(ax.figure, out, f"optuna_{study.study_name}"), f"Sweep history: {tuned}", caption)


def optuna_importances(study, out: OutputFolder) -> Rendered:
    """Each tuned parameter's fANOVA importance for the objective, by
    :func:`optuna.visualization.matplotlib.plot_param_importances`, from :data:`IMPORTANCE_TRIALS` completed
    trials on."""
    import optuna

    done = _completed(study)
    if len(done) < IMPORTANCE_TRIALS:
        raise NoData(f"study {study.study_name}: parameter importances need {IMPORTANCE_TRIALS}+ completed "
                     f"trials, it has {len(done)}")
    tuned, objective = _about(study)
    params = {p for t in done for p in t.params}
    ax = _plot(optuna.visualization.matplotlib.plot_param_importances, study, objective,
               0.8 + style.BAR_HEIGHT * 1.6 * len(params))
    for bar in ax.patches:
        bar.set_color(TRIAL_COLOUR)
    for text in ax.texts:
        text.set_fontsize(style.RC["legend.fontsize"])
    ax.set_xlabel(f"Importance for {objective} (fANOVA)")
    ax.set_ylabel("Parameter")
    ax.set_xlim(0, 1.15)
    caption = (f"fANOVA importance of each of the {len(params)} parameters tuning {tuned} for {objective}, "
               f"from the {len(done)} completed trials of study {study.study_name} (one seed each: n = 1: no "
               f"interval; importances are drawn from {IMPORTANCE_TRIALS} completed trials on).")
    return Rendered(style.save(ax.figure, out, f"optuna_{study.study_name}_importances"),
                    f"Parameter importances: {tuned}", caption)
