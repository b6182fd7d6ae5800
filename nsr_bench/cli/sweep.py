"""``nsr-bench sweep``: an Optuna sweep over strategies' search spaces, the same budget for each."""

from __future__ import annotations

import argparse
import json
import sys

from nsr_bench.cli.common import Options, check_data, training_logs, use_data_root
from nsr_bench.cli.run import DEFAULT_SCENARIO

OBJECTIVES = ["acc_val", "memory_mb", "bank_mb_total", "recovery_steps_mean", "regret"]


def add_parser(sub) -> None:
    """The ``sweep`` command and its options."""
    parser = sub.add_parser("sweep", help="Optuna sweep over strategies' search spaces (equal budgets)")
    opts = Options(parser, config=True)
    opts.shared("results", "device", "data_root", "json", device="cpu")
    opts.add("--strategy", action="append", default=[], help="strategy to tune (repeatable)")
    opts.switch("--all", "every strategy with a search space")
    opts.add("--scenario", default=DEFAULT_SCENARIO, help=f"scenario (default {DEFAULT_SCENARIO})")
    opts.add("--trials", type=int, default=20, help="finished trials per strategy (default 20)")
    opts.add("--objective", action="append", choices=OBJECTIVES, help="repeat for a multi-objective sweep "
             "(default acc_val: accuracy on validation data carved from training data; no objective reads the "
             "test set)")
    opts.add("--pruner", default="median", help="median (default), wilcoxon, strict or none")
    opts.add("--sampler-seed", type=int, default=0, help="TPE seed (default 0)")
    opts.add("--seed", type=int, default=0, help="cell seed (default 0)")
    opts.add("--storage", help="Optuna storage: database URL or journal:FILE (default: --results)")
    opts.switch("--write-best", "record the best settings in the spec")
    opts.switch("--test", "use every spec's tiny test configuration")
    opts.logging()
    parser.set_defaults(func=handle)


def strategies(args: argparse.Namespace) -> list[str]:
    """The strategies to tune: ``--strategy`` or ``--all`` (one of them)."""
    from nsr_bench import registry
    from nsr_bench.config import SpecError

    if args.all and args.strategy:
        raise SpecError("give --all or --strategy, not both")
    if args.all:
        return sorted(n for n, s in registry.strategies().items() if s.search_space)
    if args.strategy:
        return args.strategy
    raise SpecError("name at least one --strategy, or --all for every strategy with a search space")


def handle(args: argparse.Namespace) -> int:
    """Sweep each strategy (resuming its study), compare with its defaults, print (or write) the best."""
    from nsr_bench.config import SpecError
    from nsr_bench.hpo import sweep as hpo
    from nsr_bench.progress import Progress
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore, tidy

    if args.trials < 1:
        raise SpecError(f"--trials {args.trials}: give at least 1 trial per strategy")
    use_data_root(args.data_root)
    names = strategies(args)
    for name in names:  # before any trial
        hpo.check_space(name)
    if args.storage:
        hpo.optuna_storage(args.storage)
    objectives = tuple(args.objective or ["acc_val"])
    check_data([resolve_cell(args.scenario, n, args.seed, args.device, args.test, tuned=False) for n in names])
    store = ResultsStore(args.results)
    logs = training_logs(args, args.results)
    report = []
    with Progress("sweep", unit="trial") as progress:
        for name in names:  # the same trial budget for every strategy
            report.append(sweep_one(name, args, store, objectives, progress, logs))
    print(progress.line(), file=sys.stderr)
    if args.json:
        print(json.dumps(tidy(report), indent=1))
    else:
        print_report(report, objectives)
    return 0


def sweep_one(name: str, args: argparse.Namespace, store, objectives: tuple[str, ...], progress, logs) -> dict:
    """Sweep strategy ``name`` (``progress`` shows its trials) and compare the best trial with its defaults;
    with ``--write-best``, record the best settings in its spec. Returns its report row."""
    from optuna.trial import TrialState

    from nsr_bench.config import parse_selector
    from nsr_bench.hpo import sweep as hpo
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.runner import run_cell

    study = hpo.sweep(name, args.scenario, args.trials, store, args.storage, objectives, args.pruner,
                      args.sampler_seed, args.seed, args.device, args.test, progress=progress, logs=logs)
    untuned = resolve_cell(args.scenario, name, args.seed, args.device, args.test, tuned=False)
    reused = store.done(untuned.hash)
    default = run_cell(untuned, store, progress=progress, logs=logs)
    study.set_user_attr("defaults_cell", untuned.hash)  # a cell of the sweep: figures show it with the trials
    progress.count(reused=reused, computed=not reused)
    states = [t.state for t in study.trials]
    row = {"strategy": name, "trials": len(states), "pruned": states.count(TrialState.PRUNED),
           "default": {o: default[o] for o in objectives}}
    if len(objectives) == 1:
        best, value, chosen = hpo.best_of(study, default, untuned.strategy_params, objectives[0])
        row.update(tuned=value, best_params=best, chosen=chosen)
        if args.write_best:
            sweep = hpo.provenance(study, args.scenario, objectives[0], args.seed, args.sampler_seed, args.pruner)
            sweep.update(value=round(value, 6), chosen=chosen, best_trial=round(study.best_value, 6))
            row["written_to"] = str(hpo.write_best(name, parse_selector(args.scenario)[0], best, sweep))
    else:
        row["pareto_front"] = [{"values": t.values, "params": t.params} for t in hpo.pareto_front(study)]
    return row


def print_report(report: list[dict], objectives: tuple[str, ...]) -> None:
    """Each strategy's trials, its defaults' values and its tuned value (or Pareto front) as text."""
    for row in report:
        print(f"{row['strategy']}: {row['trials']} trials ({row['pruned']} pruned); default {row['default']}")
        if "tuned" in row:
            won = " (the defaults beat every trial)" if row["chosen"] == "defaults" else ""
            print(f"  tuned {objectives[0]} = {row['tuned']:.4f} with {row['best_params']}{won}")
        for point in row.get("pareto_front", []):
            print(f"  pareto {dict(zip(objectives, point['values'], strict=True))} with {point['params']}")
