"""The ablation: Bank on/off x allocation rule x distillation weight."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results
from nsr_bench.plots.figures.common import NoData, bars, metric_name, n_caption, seeds, trials
from nsr_bench.plots.naming import fmt, tuned_keys
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec, at_defaults, colour, display_name

TITLE = "Ablation: Bank, allocation rule and distillation"
METRICS = ("recovery_steps_mean", "acc")
GROUPS = ("Bank on", "Bank off")


def _distill_columns(data) -> list[str]:
    """The ablation's column per cell: its distillation weight to 3 significant digits, ``tuned`` where it
    is the spec's tuned setting and none of the weights the other cells set (so tuned floats never make a
    column each, and a tuned weight equal to a factor's value joins that column), "" without one."""
    if "param.distill_lambda" not in data:
        return [""] * len(data)
    cells = list(zip(data["param.distill_lambda"], ["distill_lambda" in tuned_keys(m) for m in data["manifest"]],
                     strict=True))
    given = {float(v) for v, tuned in cells if not tuned and v == v}  # the factor's own values
    return ["tuned" if tuned and float(v) not in given else ("" if v != v else fmt(float(v)))
            for v, tuned in cells]


def ablation(res: Results, out: OutputFolder, spec: FigureSpec) -> Rendered:
    """Small multiples: recovery steps and ACC (rows) per distillation weight (columns), one pair of bars
    (Bank on filled, off outlined) per allocation rule; cells whose other varying parameters sit at their
    defaults."""
    cells = res.cells
    if cells.empty or "param.bank" not in cells:
        raise NoData("the ablation needs cells of the allocation strategies (each rule with bank on/off)")
    data = cells.dropna(subset=["param.bank"])
    data = data[at_defaults(data, free=("bank", "distill_lambda")) & ~trials(data)].copy()
    if data.empty:
        raise NoData("the ablation needs cells whose parameters other than bank and distill_lambda sit at "
                     "their spec's defaults (and tuned settings)")
    data["name"] = [display_name(s, spec) for s in data["strategy"]]
    data["Bank"] = data["param.bank"].map({True: GROUPS[0], False: GROUPS[1]})
    data["lambda"] = _distill_columns(data)
    lambdas = sorted(data["lambda"].unique(),
                     key=lambda v: (v == "tuned", float(v) if v not in ("", "tuned") else 0.0))
    names = [n for n in dict.fromkeys(display_name(k, spec) for k in spec.strategies) if n in set(data["name"])]
    names += sorted(set(data["name"]) - set(names))
    palette = [colour(data.loc[data["name"] == n, "strategy"].iloc[0], spec) for n in names]
    groups = [g for g in GROUPS if (data["Bank"] == g).any()]
    height = len(METRICS) * (style.BAR_HEIGHT * len(names) * (1 + 0.4 * (len(groups) - 1)) + 0.55)
    fig, axes = style.subplots(len(METRICS), len(lambdas), height=height, sharex="row", sharey=True)
    for row, metric in zip(axes, METRICS, strict=True):
        for ax, lam in zip(row, lambdas, strict=True):
            part = data[data["lambda"] == lam]
            bars(ax, part.dropna(subset=[metric]), metric, names, palette, groups, group_key="Bank")
            ax.set_title(style.wrap(metric_name(metric) + ("" if lam == "" else f", distillation λ = {lam}"),
                                    len(lambdas)))
        style.bold(row[0].get_yticklabels(), {spec.reference_name()})
    style.legend_below(fig, [style.group_patch(k, g) for k, g in enumerate(groups)], groups, cols=len(groups))
    caption = (f"Recovery steps and accuracy (ACC) per allocation rule with the Bank on (filled) and off "
               f"(outlined){', one column per distillation weight λ' if lambdas != [''] else ''}; "
               f"{n_caption(seeds(data, by='label'))}. Cells whose parameters other than the Bank and λ are off "
               f"their spec's defaults (or tuned settings), and sweep trials, are left out.")
    return Rendered(style.save(fig, out, "ablation"), TITLE, caption)
