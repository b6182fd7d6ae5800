"""The learned allocator's training curve, from the curve its policy file records."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots.figures import _save, _style

LABELS = {"policy": "trained policy (greedy)", "uniform": "uniform random", "fresh": "always fresh",
          "nearest": "recall nearest entry"}


def training_curve(curve: list[dict], out: OutputFolder, name: str, window: int = 4) -> Path:
    """Per-episode mean regret of the policy (before fitting on that episode) and of the reference
    choices, with a running mean over ``window`` episodes (one of each training stream); writes
    ``name.png`` and ``name.pdf`` into ``out``."""
    _style()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    episodes = [p["episode"] for p in curve]
    for key, label in LABELS.items():
        values = np.array([p[f"regret_{key}"] for p in curve])
        smooth = np.convolve(values, np.ones(window), "valid") / window if len(values) >= window else values
        line, = ax.plot(episodes[len(episodes) - len(smooth):], smooth, label=label)
        ax.plot(episodes, values, color=line.get_color(), alpha=0.2, lw=0.8)
    ax.set_xlabel("training episode (stream)")
    ax.set_ylabel("regret per decision\n(best trial reward - chosen)")
    ax.set_title(f"rl: offline training curve (running mean of {window})")
    ax.legend(fontsize=8)
    return _save(fig, out, name)
