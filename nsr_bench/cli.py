"""The ``nsr-bench`` command line. Heavy imports happen inside the commands, never at start-up."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = "digits_cyclic"
DEFAULT_STRATEGIES = ["nsr", "fresh", "carry"]
RUN_KEYS = {"scenario": DEFAULT_SCENARIO, "strategy": DEFAULT_STRATEGIES, "seeds": "0", "device": "auto",
            "results": "results", "json": False, "force": False, "test": False, "data_root": None,
            "untuned": False}
MAX_SEEDS = 10_000  # seeds one command may name


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-2"`` -> ``[0, 1, 2]`` (at most :data:`MAX_SEEDS`)."""
    from nsr_bench.config import SpecError

    try:
        if "-" in text.strip().lstrip("-"):
            lo, hi = (int(t) for t in text.split("-", 1))
            count = max(0, hi - lo + 1)
            seeds = range(lo, hi + 1)
        else:
            seeds = [int(s) for s in str(text).split(",") if s.strip()]
            count = len(seeds)
    except ValueError:
        raise SpecError(f"--seeds {text!r}: give integers as 0,1,2 or a range 0-2") from None
    if count > MAX_SEEDS:
        raise SpecError(f"--seeds {text!r} names {count} seeds, more than the {MAX_SEEDS} one command may run; "
                        "give a smaller range")
    seeds = list(seeds)
    if not seeds:
        raise SpecError(f"--seeds {text!r} names no seed; a range runs from low to high, as 0-2")
    return seeds


def format_table(labels: list[str], summaries: list[dict]) -> str:
    """Per strategy (``labels``: each summary's ``--strategy`` selector): n, mean ± t half-width over seeds,
    paired tests by seed against the first strategy (Holm-adjusted), and the caption line saying so."""
    from nsr_bench.metrics.summary import caption, group, summarise, table, text

    groups = group((s["scenario"], label, s["seed"], s) for label, s in zip(labels, summaries, strict=True))
    reference = labels[0] if labels else None
    rows = summarise(groups, reference)
    return text(*table(rows)) + "\n" + caption(rows, reference)


def run_options(args: argparse.Namespace) -> dict:
    """Merge ``--config FILE`` (keys matching the flags) under the explicit flags and over the defaults; a
    switch given either way (``--force`` or ``--no-force``) overrides the file's value."""
    from nsr_bench.config import SpecError, load_yaml

    config = load_yaml(args.config) if args.config else {}
    unknown = sorted(set(config) - set(RUN_KEYS))
    if unknown:
        raise SpecError(f"{args.config}: unknown key(s) {unknown}; allowed: {sorted(RUN_KEYS)}")
    opts = {}
    for key, default in RUN_KEYS.items():
        flag = getattr(args, key)
        opts[key] = flag if flag not in (None, []) else config.get(key, default)  # an explicit flag wins
    if isinstance(opts["strategy"], str):
        opts["strategy"] = [opts["strategy"]]
    opts["seeds"] = parse_seeds(str(opts["seeds"])) if not isinstance(opts["seeds"], list) else opts["seeds"]
    return opts


def check_jobs(jobs: int) -> None:
    """``-j JOBS`` must name at least one worker process."""
    from nsr_bench.config import SpecError

    if jobs < 1:
        raise SpecError(f"-j {jobs}: give at least 1 worker")


def use_data_root(value: str | None) -> None:
    """``--data-root`` wins over ``NSR_DATA_ROOT``; builders read the environment (not the cell hash)."""
    if value:
        os.environ["NSR_DATA_ROOT"] = str(Path(value).resolve())


def check_data(cells) -> None:
    """Every data source the cells read must be readable, before any training starts."""
    from nsr_bench.registry import lookup
    from nsr_bench.scenarios.sources import DataError, data_root, source_status

    needed = {src for cell in cells for src in lookup("scenarios", cell.scenario).sources(cell.scenario_params)}
    problems = [p for p in (source_status(src, data_root()) for src in sorted(needed)) if p]
    if problems:
        raise DataError("missing data, nothing was run:\n  " + "\n  ".join(problems))


def reuse_line(reused: int, computed: int, failed: int) -> str:
    """What a command did with its cells, printed at its end."""
    return f"cells: reused {reused}, computed {computed}" + (f", failed {failed}" if failed else "")


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore, tidy
    from nsr_bench.runner import run_cell

    opts = run_options(args)
    use_data_root(opts["data_root"])
    tuned, test = not opts["untuned"], opts["test"]
    selected = [(strategy, resolve_cell(opts["scenario"], strategy, seed, opts["device"], test, tuned=tuned))
                for strategy in opts["strategy"] for seed in opts["seeds"]]
    check_data([cell for _, cell in selected])
    store = ResultsStore(opts["results"])
    summaries, labels, failed = [], [], []
    computes = [opts["force"] or not store.done(cell.hash) for _, cell in selected]
    reused = computes.count(False)
    with tqdm(total=sum(computes), desc="cells", unit="cell", file=sys.stderr) as bar:
        for (selector, cell), computing in zip(selected, computes, strict=True):
            try:
                summaries.append(run_cell(cell, store, force=opts["force"], progress=bar))
                labels.append(selector)
            except Exception as exc:  # recorded in the store's runs table; the other cells go on
                failed.append(f"{cell.strategy} seed {cell.seed} ({cell.hash}): {type(exc).__name__}: {exc}")
            bar.update(computing)  # the bar's rate and ETA are the computed cells'
    print(reuse_line(reused, len(selected) - reused - len(failed), len(failed)), file=sys.stderr)
    for line in failed:
        print(f"nsr-bench: cell failed: {line}", file=sys.stderr)
    for line in sorted({w for s in summaries for w in s.get("warnings", [])}):  # metrics left undefined
        print(f"nsr-bench: warning: {line}", file=sys.stderr)
    if opts["json"]:
        print(json.dumps(tidy(summaries), indent=1))
    else:
        print(f"scenario: {opts['scenario']}   results: {store.url}")
        print(format_table(labels, summaries))
    return 1 if failed else 0


def cmd_data(args: argparse.Namespace) -> int:
    from nsr_bench import registry
    from nsr_bench.scenarios.sources import data_root, source_status

    use_data_root(args.data_root)
    if args.prepare is not None:
        return prepare_data(args)
    root = data_root()
    print(f"data root: {root if root else '(none: pass --data-root or set NSR_DATA_ROOT)'}")
    status = {}
    for name, spec in sorted(registry.scenarios().items()):
        missing = [src for src in spec.sources() if status.setdefault(src, source_status(src, root))]
        state = "available" if not missing else f"missing {', '.join(missing)}"
        print(f"  {name.ljust(30)} {state}")
    for src, problem in sorted(status.items()):
        if problem:
            print(f"\n{src}: {problem}")
    return 0


def prepare_data(args: argparse.Namespace) -> int:
    """``data --prepare``: extract the archives and pre-train the backbones of the named scenarios (default:
    every scenario whose data is here) for ``matrix -j JOBS``'s per-worker thread count."""
    import torch

    from nsr_bench import registry
    from nsr_bench.matrix import worker_threads
    from nsr_bench.scenarios.prepare import prepare
    from nsr_bench.scenarios.sources import data_root, source_status

    check_jobs(args.jobs)
    names = args.prepare or [name for name, spec in sorted(registry.scenarios().items())
                             if not any(source_status(src, data_root()) for src in spec.sources())]
    threads = worker_threads(args.jobs) or torch.get_num_threads()
    for name in names:
        done = prepare(name, threads, args.device)
        state = "already cached" if done["backbone_cached"] else "pre-trained"
        print(f"  {name}: ready for {threads} thread(s) per cell in {done['seconds']:.1f} s (backbone {state})")
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nsr_bench import matrix
    from nsr_bench.config import SpecError
    from nsr_bench.results.store import ResultsStore, tidy

    check_jobs(args.jobs)
    use_data_root(args.data_root)
    spec = matrix.load_matrix(args.spec)
    cells, skipped = matrix.expand(spec, args.device, matrix.worker_threads(args.jobs), tuned=not args.untuned)
    for label, reason in skipped:
        print(f"skipped {label}: {reason}", file=sys.stderr)
    matrix.check_expanded(spec, cells, skipped)
    check_data([c.spec for c in cells])
    if args.enqueue:
        from nsr_bench.distributed import enqueue

        if not args.storage:
            raise SpecError("--enqueue needs --storage URL (the shared database the workers read)")
        waiting = enqueue([c.spec for c in cells], args.storage, args.study or spec.name)
        print(f"{len(cells)} cells of {spec.name!r} queued in {args.storage}; {waiting} waiting for workers")
        return 0
    store = ResultsStore(args.storage or args.results)
    with tqdm(total=len(cells), desc=spec.name, unit="cell", file=sys.stderr) as bar:
        finished, summaries, failed, reused = matrix.run_matrix(cells, store, args.jobs, bar)
    print(reuse_line(reused, len(finished) - reused, len(failed)), file=sys.stderr)
    for cell_hash, error in failed.items():
        print(f"failed {cell_hash}: {error} (traceback in the store's runs table)", file=sys.stderr)
    rows = matrix.summary_table(finished, summaries, spec.reference)
    if args.json:
        print(json.dumps(tidy([r.as_dict() for r in rows]), indent=1))
    else:
        print(f"{spec.name}: {len(finished)} of {len(cells)} cells finished ({len(failed)} failed, "
              f"{len(skipped)} combinations skipped), results: {store.url}")
        print(matrix.format_summary(rows, spec.reference))
    return 1 if failed else 0


def cmd_worker(args: argparse.Namespace) -> int:
    from nsr_bench.distributed import work

    use_data_root(args.data_root)
    done = work(args.storage, args.study, args.results, args.heartbeat,
                log=lambda m: print(m, file=sys.stderr))
    print(f"worker finished: {done.ran} cells run here")
    if done.left:
        print(f"nsr-bench: {done.summary()}", file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from optuna.trial import TrialState
    from tqdm import tqdm

    from nsr_bench import registry
    from nsr_bench.config import SpecError, parse_selector
    from nsr_bench.hpo import sweep as hpo
    from nsr_bench.resolution import resolve_cell
    from nsr_bench.results.store import ResultsStore, tidy
    from nsr_bench.runner import run_cell

    if args.trials < 1:
        raise SpecError(f"--trials {args.trials}: give at least 1 trial per strategy")
    use_data_root(args.data_root)
    if args.all and args.strategy:
        raise SpecError("give --all or --strategy, not both")
    if args.all:
        names = sorted(n for n, s in registry.strategies().items() if s.search_space)
    elif args.strategy:
        names = args.strategy
    else:
        raise SpecError("name at least one --strategy, or --all for every strategy with a search space")
    for name in names:  # before any trial
        hpo.check_space(name)
    if args.storage:
        hpo.optuna_storage(args.storage)
    objectives = tuple(args.objective or ["acc_val"])
    check_data([resolve_cell(args.scenario, n, args.seed, args.device, args.test, tuned=False) for n in names])
    store = ResultsStore(args.results)
    report = []
    for name in names:  # the same trial budget for every strategy
        with tqdm(desc=f"sweep {name}", unit="trial", file=sys.stderr) as bar:
            study = hpo.sweep(name, args.scenario, args.trials, store, args.storage, objectives, args.pruner,
                              args.sampler_seed, args.seed, args.device, args.test, progress=bar)
        untuned = resolve_cell(args.scenario, name, args.seed, args.device, args.test, tuned=False)
        default = run_cell(untuned, store)
        states = [t.state for t in study.trials]
        row = {"strategy": name, "trials": len(states), "pruned": states.count(TrialState.PRUNED),
               "default": {o: default[o] for o in objectives}}
        if len(objectives) == 1:
            best, value, chosen = hpo.best_of(study, default, untuned.strategy_params, objectives[0])
            row.update(tuned=value, best_params=best, chosen=chosen)
            if args.write_best:
                sweep = hpo.provenance(study, args.scenario, objectives[0], args.seed, args.sampler_seed,
                                       args.pruner)
                sweep.update(value=round(value, 6), chosen=chosen, best_trial=round(study.best_value, 6))
                scenario = parse_selector(args.scenario)[0]
                row["written_to"] = str(hpo.write_best(name, scenario, best, sweep))
        else:
            row["pareto_front"] = [{"values": t.values, "params": t.params} for t in hpo.pareto_front(study)]
        report.append(row)
    if args.json:
        print(json.dumps(tidy(report), indent=1))
    else:
        for row in report:
            print(f"{row['strategy']}: {row['trials']} trials ({row['pruned']} pruned); default {row['default']}")
            if "tuned" in row:
                won = " (the defaults beat every trial)" if row["chosen"] == "defaults" else ""
                print(f"  tuned {objectives[0]} = {row['tuned']:.4f} with {row['best_params']}{won}")
            for point in row.get("pareto_front", []):
                print(f"  pareto {dict(zip(objectives, point['values'], strict=True))} with {point['params']}")
    return 0


def stored_results(target: str):
    """The results store ``target`` for reading: an error if there is none (reading creates nothing)."""
    from nsr_bench.results.store import ResultsStore

    return ResultsStore(target, create=False)


def current_results(args: argparse.Namespace):
    """The results store without cells of other code (unless ``--include-stale``), saying how many it left out."""
    from nsr_bench.identity import current_view

    store, left_out = current_view(stored_results(args.results), args.include_stale)
    if left_out:
        print(f"left out {left_out} stale cells computed by other code (`nsr-bench report --stale` lists them, "
              "--include-stale keeps them)", file=sys.stderr)
    return store


def cmd_figures(args: argparse.Namespace) -> int:
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots import render_all
    from nsr_bench.plots.spec import load_spec

    out = OutputFolder(args.out, "--out", args.overwrite)  # checked before the store is opened (or created)
    spec = load_spec(args.spec)
    written, skipped, slopes = render_all(current_results(args), out, spec)
    for figure in written:
        print(f"wrote {figure.png} (and .pdf)")
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    for strategy, slope in sorted(slopes.items()):
        print(f"regret slope {strategy}: {slope} per cycle")
    return 0


def cmd_train_rl(args: argparse.Namespace) -> int:
    """Train the learned allocator's policy offline, save it and render its training curve."""
    from nsr_bench.config import SpecError
    from nsr_bench.outputs import output_file
    from nsr_bench.plots.rl_curve import training_curve
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
    policy = train_policy(args.episodes, trial_steps=args.trial_steps, overwrite_cost=args.overwrite_cost,
                          device=args.device, test=args.test)
    policy.training["command"] = (f"nsr-bench train-rl --episodes {args.episodes} "
                                  f"--trial-steps {args.trial_steps} --overwrite-cost {args.overwrite_cost}"
                                  + " --test" * args.test)
    print(f"wrote {policy.save(*policy_to)}; figure {training_curve(policy.training['curve'], figure_to, figure)} "
          "(and .pdf)")
    return 0


def cmd_stale(args: argparse.Namespace) -> int:
    from nsr_bench.identity import stale_cells

    store = stored_results(args.results)
    stale = stale_cells(store)
    verb = "deleted" if args.purge_stale else "stale"
    for c in stale:
        print(f"{verb} {c['hash']}  {c['scenario']}  {c['strategy']}  seed {c['seed']}  "
              f"code {c['code'] or '(no identity: older store)'}")
    if args.purge_stale and stale:
        store.purge([c["hash"] for c in stale])
    print(f"{len(stale)} cells {'deleted' if args.purge_stale else 'computed by other code'} "
          f"(other code or numeric libraries than this process has) in {store.url}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from nsr_bench.metrics.summary import caption, table, text
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots.spec import load_spec
    from nsr_bench.results.export import export, frames, summary_rows
    from nsr_bench.results.report import write_report

    if args.stale or args.purge_stale:
        return cmd_stale(args)
    spec = load_spec(args.spec)
    export_to = OutputFolder(args.export, "--export", args.overwrite) if args.export else None
    report_to = OutputFolder(args.out, "--out", args.overwrite) if args.out else None
    store = current_results(args)
    cells = frames(store)["cells"]
    if cells.empty:
        print(f"no finished cells in {store.url}")
        return 0
    rows, reference = summary_rows(store, spec)
    print(text(*table(rows)) + "\n" + caption(rows, reference))
    for path in export(store, export_to) if export_to else []:
        print(f"wrote {path}")
    for path in write_report(store, report_to, spec) if report_to else []:
        print(f"wrote {path}")
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nsr_bench.claims.audit import audit, format_table
    from nsr_bench.claims.protocol import load_protocol
    from nsr_bench.results.store import ResultsStore, tidy

    check_jobs(args.jobs)
    use_data_root(args.data_root)
    protocol = load_protocol(args.protocol)
    store = ResultsStore(args.results)
    with tqdm(desc="claims", unit="cell", file=sys.stderr) as bar:
        verdicts, failed = audit(protocol, store, args.test, args.device, args.jobs, bar, args.scenario or None,
                               args.recurrence or None)
    for cell_hash, error in failed.items():
        print(f"failed {cell_hash}: {error} (traceback in the store's runs table)", file=sys.stderr)
    rows = [v.as_dict() for v in verdicts]
    if args.json:
        print(json.dumps(tidy(rows), indent=1))
    else:
        test = " (test)" if args.test else ""
        print(f"claims of {protocol.name!r}{test}: {len(rows)} verdicts, stored in {store.url}")
        print(format_table(rows))
    return 1 if failed else 0


def cmd_claims_memory(args: argparse.Namespace) -> int:
    from nsr_bench.claims import memory
    from nsr_bench.config import SpecError

    patterns = None if args.layers is None else [p.strip() for p in args.layers.split(",") if p.strip()]
    problems = {"--rank": (args.rank < 1, "give a stored rank of at least 1"),
                "--classes": (args.classes < 1, "give at least 1 class per task"),
                "--paper-mb": (not (math.isfinite(args.paper_mb) and args.paper_mb > 0), "give a finite size "
                               "above 0 MB"),
                "--layers": (patterns == [], "give at least one layer glob, or leave --layers out for the "
                             "backbone's default targets")}
    for flag, (bad, fix) in problems.items():
        if bad:
            raise SpecError(f"{flag} {getattr(args, flag[2:].replace('-', '_'))!r}: {fix}")
    try:
        net = memory.backbone(args.backbone, args.in_channels, args.image_size)
        layers = memory.select_layers(net, patterns)
        parts = memory.entry_bytes(net, layers, args.rank, args.dtype, args.classes)
        rank = memory.implied_rank(net, layers, args.paper_mb, args.dtype, args.classes)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    out = {"backbone": args.backbone, "layers": {n: list(s) for n, s in layers.items()}, "rank": args.rank,
           "dtype": args.dtype, "classes": args.classes, "bytes": parts, "mb_per_entry": parts["total"] / 1e6,
           "paper_mb_per_task": args.paper_mb, "implied_rank": rank,
           "max_rank": min(min(shape) for shape in layers.values())}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.backbone}: {len(layers)} adapted layers ({', '.join(list(layers)[:4])}"
          f"{', ...' if len(layers) > 4 else ''}), stored rank {args.rank}, {args.dtype}, {args.classes} classes")
    print("  one entry: " + ", ".join(f"{k} {v} B" for k, v in parts.items())
          + f" = {parts['total'] / 1e6:.4f} MB (= MB per task with one entry per task)")
    verdict = f"rank {rank:.2f}"
    if rank < 1:
        verdict += " (below 1: fewer layers, or the key and head rows alone)"
    elif rank > out["max_rank"]:
        verdict += f" (above the largest rank these layers hold, {out['max_rank']}: more layers)"
    print(f"  the paper's {args.paper_mb} MB/task implies, for these layers and dtype: {verdict}")
    return 0


def cmd_export_cell(args: argparse.Namespace) -> int:
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.results.export import export_cell

    out = OutputFolder(args.out, "--out", args.overwrite)
    for path in export_cell(stored_results(args.results), args.cell, out):
        print(f"wrote {path}")
    return 0


def cmd_bank(args: argparse.Namespace) -> int:
    from nsr_bench.config import SpecError
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    if args.cell and args.file:
        raise SpecError(f"give a Bank FILE ({args.file}) or --cell {args.cell}, not both")
    if args.save and not args.cell:
        raise SpecError("--save writes the Bank of --cell HASH; a Bank FILE is already a file, copy it instead")
    if args.cell:
        from nsr_bench.outputs import output_file

        save_to = output_file(args.save, "--save", args.overwrite) if args.save else None
        store = stored_results(args.results)
        data = store.bank_bytes(store.cell(args.cell)["hash"])  # the hash, or a unique prefix of it
        if data is None:
            raise SpecError(f"no Bank stored for cell {args.cell!r} in {args.results}")
        bank = TaskKnowledgeBank.from_bytes(data)
        if save_to:
            print(f"wrote {save_to[0].write_bytes(save_to[1], data)}")
    elif args.file:
        bank = TaskKnowledgeBank.load(args.file)
    else:
        raise SpecError("give a Bank FILE, or --cell HASH (with --results) to read one from the store")
    print(bank.describe())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from nsr_bench import registry

    for kind, specs in (("strategies", registry.strategies()), ("scenarios", registry.scenarios())):
        print(f"{kind}:")
        width = max((len(n) for n in specs), default=0)
        for name, spec in sorted(specs.items()):
            print(f"  {name.ljust(width)}  {spec.description}")
    return 0


SPEC_HELP = ("figure spec YAML: strategies shown, display names, colours, reference "
             "(default: the shipped nsr_bench/plots/spec.yaml)")
SHARED = {  # the options several commands take: help text, defined once (see shared())
    "results": "results folder (SQLite file nsr.db in it), SQLite file (*.db) or database URL",
    "device": "auto, cpu, cuda or cuda:N",
    "data_root": "folder with the real datasets",
    "json": "print the output as JSON",
    "untuned": "use the specs' defaults, not their tuned `best` settings for the scenario",
    "overwrite": "replace output files that already exist (without it an existing file is an error)",
}


def shared(*names: str, **defaults: Any) -> argparse.ArgumentParser:
    """A parent parser with the :data:`SHARED` options ``names``. ``defaults`` gives a command's own
    default for an option, or ``(default, shown)`` when the help should show another value (``run``
    keeps None so that ``--config`` can fill the option)."""
    shown_defaults = {"results": "results", "device": "auto", "data_root": "$NSR_DATA_ROOT"}
    parent = argparse.ArgumentParser(add_help=False)
    for name in names:
        flag = "--" + name.replace("_", "-")
        if name in ("json", "untuned", "overwrite"):  # --no-NAME too, so a flag can switch a --config value off
            parent.add_argument(flag, action=argparse.BooleanOptionalAction, default=defaults.get(name, False),
                                help=SHARED[name])
            continue
        default = defaults.get(name, shown_defaults[name] if name == "results" else None)
        default, shown = default if isinstance(default, tuple) else (default, default or shown_defaults[name])
        parent.add_argument(flag, default=default, help=f"{SHARED[name]} (default {shown})")
    return parent


def build_parser() -> argparse.ArgumentParser:
    from nsr_bench import __version__

    parser = argparse.ArgumentParser(prog="nsr-bench", description="Comparative continual-learning "
                                     "benchmark for Neural Subspace Reallocation (NSR).")
    parser.add_argument("--version", action="version", version=f"nsr-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run cells (default: NSR vs fresh vs carry on the embedded scenario)",
                         parents=[shared("results", "device", "data_root", "json", "untuned",
                                         results=(None, "results"), device=(None, "auto"), json=None,
                                         untuned=None)])
    run.add_argument("--scenario",
                     help=f"scenario, optionally NAME[key=value,...] (default {DEFAULT_SCENARIO})")
    run.add_argument("--strategy", action="append", default=[],
                     help='strategy, repeatable, e.g. "nsr[rank=8,cap=20]" (default: nsr, fresh, carry)')
    run.add_argument("--seeds", help="seeds as 0,1,2 or 0-2 (default 0)")
    run.add_argument("--config", help="YAML file whose keys match these flags")
    run.add_argument("--force", action=argparse.BooleanOptionalAction,
                     help="recompute cells that are already finished")
    run.add_argument("--test", action=argparse.BooleanOptionalAction,
                     help="use every spec's tiny test configuration")
    run.set_defaults(func=cmd_run)
    data = sub.add_parser("data", help="list every scenario with whether its data is available here",
                          parents=[shared("data_root", "device", device="cpu")])
    data.add_argument("--prepare", nargs="*", metavar="SCENARIO", help="extract archives and pre-train the "
                      "backbones of these scenarios (selectors; default: every one whose data is here) ahead "
                      "of a matrix")
    data.add_argument("-j", "--jobs", type=int, default=1, help="prepare for `matrix -j JOBS` (its per-worker "
                      "thread count: the backbone cache is per thread count; default 1)")
    data.set_defaults(func=cmd_data)
    mat = sub.add_parser("matrix", help="run (or queue) an ablation matrix spec, resumably",
                         parents=[shared("results", "device", "data_root", "json", "untuned", device="cpu")])
    mat.add_argument("spec", help="matrix YAML file, or the name of a shipped matrix (tiny, paper_ablation)")
    mat.add_argument("-j", "--jobs", type=int, default=1, help="local worker processes (default 1)")
    mat.add_argument("--storage", help="shared database URL (results and Optuna queue)")
    mat.add_argument("--enqueue", action="store_true", help="queue the cells for `nsr-bench worker`")
    mat.add_argument("--study", help="queue name (default: the matrix name)")
    mat.set_defaults(func=cmd_matrix)
    wrk = sub.add_parser("worker", help="run queued cells from a shared database until none is left",
                         parents=[shared("results", "data_root", results=(None, "the --storage URL"))])
    wrk.add_argument("--storage", required=True, help="database URL the cells were queued in")
    wrk.add_argument("--study", required=True, help="queue name (the matrix name)")
    wrk.add_argument("--heartbeat", type=int, default=30, help="seconds between heartbeats (default 30)")
    wrk.set_defaults(func=cmd_worker)
    swp = sub.add_parser("sweep", help="Optuna sweep over strategies' search spaces (equal budgets)",
                         parents=[shared("results", "device", "data_root", "json", device="cpu")])
    swp.add_argument("--strategy", action="append", default=[], help="strategy to tune (repeatable)")
    swp.add_argument("--all", action="store_true", help="every strategy with a search space")
    swp.add_argument("--scenario", default=DEFAULT_SCENARIO, help=f"scenario (default {DEFAULT_SCENARIO})")
    swp.add_argument("--trials", type=int, default=20, help="finished trials per strategy (default 20)")
    swp.add_argument("--objective", action="append", choices=["acc_val", "memory_mb", "bank_mb_total",
                     "recovery_steps_mean", "regret"], help="repeat for a multi-objective sweep (default acc_val: "
                     "accuracy on validation data carved from training data; no objective reads the test set)")
    swp.add_argument("--pruner", default="median", help="median (default), wilcoxon, strict or none")
    swp.add_argument("--sampler-seed", type=int, default=0, help="TPE seed (default 0)")
    swp.add_argument("--seed", type=int, default=0, help="cell seed (default 0)")
    swp.add_argument("--storage", help="Optuna storage: database URL or journal:FILE (default: --results)")
    swp.add_argument("--write-best", action="store_true", help="record the best settings in the spec")
    swp.add_argument("--test", action="store_true", help="use every spec's tiny test configuration")
    swp.set_defaults(func=cmd_sweep)
    rep = sub.add_parser("report", help="summarise the results store; --export writes parquet and CSV",
                         parents=[shared("results", "overwrite")])
    rep.add_argument("--export", help="folder for parquet and CSV tables")
    rep.add_argument("--out", help="folder for report.md, report.html and the figures")
    rep.add_argument("--stale", action="store_true", help="list the cells computed by other code")
    rep.add_argument("--purge-stale", action="store_true", help="delete the cells computed by other code")
    rep.add_argument("--include-stale", action="store_true", help="keep cells of other code in tables")
    rep.add_argument("--spec", help=SPEC_HELP)
    rep.set_defaults(func=cmd_report)
    exp = sub.add_parser("export-cell", help="write one cell's manifest, summary, accuracy matrix, curves "
                         "and Bank as files", parents=[shared("results", "overwrite")])
    exp.add_argument("cell", help="cell hash (or a unique prefix of one)")
    exp.add_argument("--out", required=True, help="output folder")
    exp.set_defaults(func=cmd_export_cell)
    fig = sub.add_parser("figures", help="render every paper figure the results store has data for",
                         parents=[shared("results", "overwrite")])
    fig.add_argument("--out", default="results/figures", help="output folder (default results/figures)")
    fig.add_argument("--include-stale", action="store_true", help="keep cells of other code")
    fig.add_argument("--spec", help=SPEC_HELP)
    fig.set_defaults(func=cmd_figures)
    trl = sub.add_parser("train-rl", help="train the learned allocator (rl) offline on streams disjoint from "
                         "the evaluation seeds, save its policy file and its training curve",
                         parents=[shared("overwrite")])
    trl.add_argument("--episodes", type=int, default=60, help="training streams (default 60)")
    trl.add_argument("--trial-steps", type=int, default=8, help="updates per candidate trial (default 8)")
    trl.add_argument("--overwrite-cost", type=float, default=0.25,
                     help="reward cost of recalling (so overwriting) another task's entry (default 0.25)")
    trl.add_argument("--out", default="nsr_bench/policies/rl_v1.json", help="policy file to write")
    trl.add_argument("--figure", default="docs/figures/rl_training_curve.png", help="training-curve figure")
    trl.add_argument("--device", default="cpu")
    trl.add_argument("--test", action="store_true", help="the training streams' tiny test configuration")
    trl.set_defaults(func=cmd_train_rl)
    bnk = sub.add_parser("bank", help="inspect a saved TaskKnowledgeBank (never unpickles anything)")
    bnk_sub = bnk.add_subparsers(dest="bank_command", required=True)
    ins = bnk_sub.add_parser("inspect", help="entries, ranks, bytes and key similarities of a Bank",
                             parents=[shared("results", "overwrite")])
    ins.add_argument("file", nargs="?", help="a bank.safetensors file")
    ins.add_argument("--cell", help="read the Bank of this cell hash (or a unique prefix) from the results store")
    ins.add_argument("--save", help="with --cell: also write the Bank to this file")
    ins.set_defaults(func=cmd_bank)
    clm = sub.add_parser("claims", help="reproduce or refute each paper claim: verdicts with 95%% intervals "
                         "(reuses stored cells)", parents=[shared("results", "device", "data_root", "json",
                                                                 device="cpu")])
    clm.add_argument("--protocol", default="paper", help="claims protocol YAML, or a shipped one (default paper)")
    clm.add_argument("--test", action="store_true", help="a tiny version: the protocol's test scenarios, "
                     "strategies and seeds, every spec's tiny test configuration")
    clm.add_argument("-j", "--jobs", type=int, default=1, help="local worker processes (default 1)")
    clm.add_argument("--scenario", action="append", default=[],
                     help="audit only this scenario (repeatable; default every scenario of the protocol)")
    clm.add_argument("--recurrence", action="append", default=[],
                     help="audit only this recurrence mode, e.g. resample (repeatable; default the protocol's)")
    clm.set_defaults(func=cmd_claims)
    clm_sub = clm.add_subparsers(dest="claims_command")
    mem = clm_sub.add_parser("memory", help="analytic Bank bytes per entry/task of a configuration, and the rank "
                             "the paper's MB/task implies", parents=[shared("json")])
    mem.add_argument("--backbone", default="small_cnn", help="small_cnn, resnet18_reduced, resnet18 or vit_b_16")
    mem.add_argument("--layers", help="adapted layers, comma-separated globs (default: the backbone's LoRA "
                     "targets; vit_b_16: *.q,*.v)")
    mem.add_argument("--rank", type=int, default=4, help="stored rank per layer (default 4, the LoRA rank)")
    mem.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"], help="storage dtype (default fp32)")
    mem.add_argument("--classes", type=int, default=10, help="classes per task (default 10)")
    mem.add_argument("--in-channels", type=int, default=3, help="input channels (small CNNs; default 3)")
    mem.add_argument("--image-size", type=int, default=32, help="input size (small CNNs; default 32)")
    mem.add_argument("--paper-mb", type=float, default=0.29, help="the paper's MB per task (default 0.29)")
    mem.set_defaults(func=cmd_claims_memory)
    lst = sub.add_parser("list", help="list strategies and scenarios with a one-line description")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nsr_bench.config import SpecError
    from nsr_bench.interrupts import exit_status, interrupting
    from nsr_bench.nsr.bank import BankFileError

    try:
        with interrupting():  # SIGTERM and SIGHUP end the command like Ctrl-C, exit status 128 + signal
            return args.func(args)
    except (SpecError, BankFileError) as exc:
        print(f"nsr-bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("nsr-bench: interrupted; finished cells are kept, rerun the same command to resume",
              file=sys.stderr)
        return exit_status(exc)


if __name__ == "__main__":
    sys.exit(main())
