"""The memory budget: Bank size and recovery vs the retention cap K, and the memory each method keeps."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.data import Results, varies
from nsr_bench.plots.figures.common import (
    NoData,
    bars,
    bold_reference,
    colours,
    headline,
    left_out,
    lines,
    memoryless,
    metric_name,
    n_caption,
    per_stream,
    seeds,
    stream_name,
)
from nsr_bench.plots.rendered import Rendered
from nsr_bench.plots.spec import FigureSpec, colour, display_name

TITLE = "Memory budget"
ENTRY = ("entry recalled", "entry not recalled")
NEUTRAL = "#555555"  # the recovery bars pool every Bank method: no method's colour


def cap_sweep(banked):
    """Per strategy, the Bank cells that differ in nothing but the cap K and span the most K values (in a
    one-at-a-time matrix such as ``matrices/memory_ablation.yaml``: the cap factor around its reference),
    so that cells varying energy, rank, dtype or thresholds do not pool into the K panels."""
    import pandas as pd

    kept = []
    for _, part in banked.groupby("strategy"):
        others = [c for c in part.columns if c.startswith("param.") and c != "param.cap" and varies(part[c])]
        key = part[others].apply(lambda row: repr(tuple(row)), axis=1) if others else pd.Series("", part.index)
        best = max(key.unique(), key=lambda k: (part.loc[key == k, "param.cap"].nunique(), (key == k).sum()))
        kept.append(part[key == best])
    return pd.concat(kept) if kept else banked


def _recoveries(banked):
    """One row per recurrence of the ``banked`` cells: cap K, seed, recovery steps and whether the task's
    Bank entry was recalled."""
    import pandas as pd

    rows = []
    for _, c in banked.iterrows():
        decisions = {d["experience"]: d for d in c["manifest"].get("decisions", [])}
        for r in c["manifest"].get("recovery", []):
            d = decisions.get(r["experience"], {})
            retained = d.get("action") == "recall" and any(r["task"] in t for t in d.get("entry_tasks", []))
            rows.append({"cap": c["param.cap"], "seed": c["seed"], "recovery_steps_mean": r["steps"],
                         "entry": ENTRY[0] if retained else ENTRY[1]})
    if not rows:
        return pd.DataFrame(rows)
    per_seed = pd.DataFrame(rows).groupby(["cap", "entry", "seed"])["recovery_steps_mean"].mean().reset_index()
    per_seed["name"] = [f"K = {k:g}" for k in per_seed["cap"]]
    return per_seed


def memory_budget(res: Results, out: OutputFolder, spec: FigureSpec) -> Rendered:
    """Bank MB vs retention cap K per Bank method, recovery steps of recurrences whose entry was recalled vs
    not per K (both from :func:`cap_sweep`'s cells), and the memory each method of the spec keeps, per
    stream; a panel without data is left out."""
    cells = res.cells
    if cells.empty or "param.cap" not in cells or "bank_mb_total" not in cells:
        raise NoData("the memory figure needs cells with a Bank")
    banked = cap_sweep(cells[(cells["bank_mb_total"].fillna(0) > 0)]).copy()
    if banked.empty:
        raise NoData("the memory figure needs cells with the Bank on")
    several = banked["stream"].nunique() > 1
    banked["name"] = [display_name(s, spec) + (f" on {stream_name(t)}" if several else "")
                      for s, t in zip(banked["strategy"], banked["stream"], strict=True)]
    look = banked.drop_duplicates("name").assign(
        colour=lambda f: [colour(s, spec) for s in f["strategy"]], reference=False,
        dash=lambda f: ["-" if t == f["stream"].min() else "--" for t in f["stream"]])
    recov = _recoveries(banked)
    chosen, names, trials = headline(res, spec)
    streams = sorted(chosen["stream"].unique()) if not chosen.empty else []
    top = 1 + (not recov.empty)
    headed = len(streams) > 1  # a memory panel per stream, headed by its name
    drawn = per_stream(chosen, names) if streams else {}
    fig, panels = style.rows([style.PANEL_HEIGHT] + [style.BAR_HEIGHT * len(drawn[s]) + 0.6 + 0.2 * headed
                                                     for s in streams],
                             [top] + [1] * len(streams), ["", *map(stream_name, streams)] if headed else None)
    ax = panels[0][0]
    lines(ax, banked, "param.cap", "bank_mb_total", list(look["name"]), look, marker="o")
    ax.set_xlabel("Retention cap K")
    ax.set_ylabel(metric_name("bank_mb_total"))
    ax.set_xticks(sorted(banked["param.cap"].unique()))
    handles, labels = style.entries([ax])
    if not recov.empty:
        ax = panels[0][1]
        ks = [f"K = {k:g}" for k in sorted(recov["cap"].unique())]
        entries = [e for e in ENTRY if (recov["entry"] == e).any()]
        bars(ax, recov, "recovery_steps_mean", ks, [NEUTRAL] * len(ks), entries, "entry", horizontal=False)
        ax.set_ylabel(metric_name("recovery_steps_mean"))
        ax.set_xlabel("Retention cap K")
        handles += [style.group_patch(k, f"Recovery, {e}") for k, e in enumerate(entries)]
        labels += [f"Recovery, {e}" for e in entries]
    for (ax,), stream in zip(panels[1:], streams, strict=True):
        part = chosen[chosen["stream"] == stream]
        bars(ax, part, "memory_mb", drawn[stream], colours(chosen, drawn[stream]))
        ax.set_yticks(ax.get_yticks(), memoryless(chosen, drawn[stream]))
        ax.set_xlabel(metric_name("memory_mb"))
        bold_reference(ax.get_yticklabels(), chosen)
    style.legend_below(fig, handles, labels)
    caption = (f"Top left: total Bank size against the retention cap K per Bank method "
               f"({n_caption(seeds(banked))}); Bank cells that differ in anything but K are left out. "
               + (f"Top right: recovery steps of recurring tasks whose Bank entry was recalled (filled) or not "
                  f"(outlined), pooled over the Bank methods ({n_caption(seeds(recov, by='cap'))}). "
                  if not recov.empty else "No recovery panel: the cells record no recurrences. ")
               + (f"Bottom: the memory each method of the spec keeps ({n_caption(seeds(chosen))})."
                  f" †: memoryless (keeps 0 MB)." if streams else "No memory panel: no cells of the figure spec's "
                  "strategies.")
               + left_out("sweep trials", trials))
    return Rendered(style.save(fig, out, "memory_budget"), TITLE, caption)
