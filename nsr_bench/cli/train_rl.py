"""``nsr-bench train-rl``: train the learned allocator's policy offline, save it and its training curve."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from nsr_bench.cli.common import Options


def add_parser(sub) -> None:
    """The ``train-rl`` command and its options."""
    parser = sub.add_parser("train-rl", help="train the learned allocator (rl) offline on streams disjoint from "
                            "the evaluation seeds, save its policy file and its training curve")
    opts = Options(parser, config=True)
    opts.shared("overwrite")
    opts.add("--episodes", type=int, default=60, help="training streams (default 60)")
    opts.add("--trial-steps", type=int, default=8, help="updates per candidate trial (default 8)")
    opts.add("--overwrite-cost", type=float, default=0.25,
             help="reward cost of recalling (so overwriting) another task's entry (default 0.25)")
    opts.add("--out", default="nsr_bench/policies/rl_v1.json", help="policy file to write")
    opts.add("--figure", default="docs/figures/rl_training_curve.png", help="training-curve figure")
    opts.add("--device", default="cpu")
    opts.switch("--test", "the training streams' tiny test configuration")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Train the learned allocator's policy offline, save it and render its training curve."""
    from nsr_bench.config import SpecError
    from nsr_bench.outputs import output_file
    from nsr_bench.plots.rl_curve import training_curve
    from nsr_bench.progress import Progress
    from nsr_bench.rl.train import train_policy

    if args.episodes < 1:
        raise SpecError(f"--episodes {args.episodes}: train on at least one episode")
    if args.trial_steps < 1:
        raise SpecError(f"--trial-steps {args.trial_steps}: give at least 1 update per candidate trial")
    if not math.isfinite(args.overwrite_cost) or args.overwrite_cost < 0:
        raise SpecError(f"--overwrite-cost {args.overwrite_cost}: give a finite cost of 0 or more")
    policy_to = output_file(args.out, "--out", args.overwrite)  # before any training
    figure_to, figure = output_file(args.figure, "--figure", args.overwrite)
    figure = Path(figure).stem
    figure_to.check(f"{figure}.png", f"{figure}.pdf")
    with Progress("train-rl", unit="episode") as progress:
        progress.plan(args.episodes)
        policy = train_policy(args.episodes, trial_steps=args.trial_steps, overwrite_cost=args.overwrite_cost,
                              device=args.device, test=args.test, log=progress.write, progress=progress)
    policy.training["command"] = (f"nsr-bench train-rl --episodes {args.episodes} "
                                  f"--trial-steps {args.trial_steps} --overwrite-cost {args.overwrite_cost}"
                                  + " --test" * args.test)
    print(f"wrote {policy.save(*policy_to)}; figure {training_curve(policy.training['curve'], figure_to, figure)} "
          "(and .pdf)")
    return 0
