"""The learned allocator's training curve, from the curve its policy file records."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots import style
from nsr_bench.plots.spec import colour

LABELS = {"policy": ("trained policy (greedy)", "rl", "-"), "uniform": ("uniform random", "random_slot", "--"),
          "fresh": ("always fresh", "fresh", ":"), "nearest": ("recall nearest entry", "nsr", "-.")}
"""Curve key -> its label and the strategy whose colour it takes (the rule closest to it), and line style."""


def training_curve(curve: list[dict], out: OutputFolder, name: str, window: int = 4) -> Path:
    """Per-episode mean regret of the policy (before fitting on that episode) and of the reference
    choices, with a running mean over ``window`` episodes (one of each training stream); writes
    ``name.png`` and ``name.pdf`` into ``out``."""
    fig, axes = style.subplots(1, 1)
    ax = axes[0][0]
    episodes = [p["episode"] for p in curve]
    for key, (label, strategy, dash) in LABELS.items():
        values = np.array([p[f"regret_{key}"] for p in curve])
        smooth = np.convolve(values, np.ones(window), "valid") / window if len(values) >= window else values
        ax.plot(episodes[len(episodes) - len(smooth):], smooth, color=colour(strategy), ls=dash, label=label)
        ax.plot(episodes, values, color=colour(strategy), alpha=0.25, lw=0.6)
    ax.set_xlabel("Training episode (stream)")
    ax.set_ylabel("Regret per decision\n(best trial reward - chosen)")
    style.legend_below(fig, *style.entries([ax]), title=f"running mean of {window} episodes (faint: each episode)",
                       cols=2)
    return style.save(fig, out, name)
