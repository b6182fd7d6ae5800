"""``nsr-bench report``: summarise the results store; export tables, write the report, list stale cells."""

from __future__ import annotations

import argparse

from nsr_bench.cli.common import SPEC_HELP, Options, current_results, stored_results


def add_parser(sub) -> None:
    """The ``report`` command and its options."""
    parser = sub.add_parser("report", help="summarise the results store; --export writes parquet and CSV")
    opts = Options(parser)
    opts.shared("results", "overwrite")
    opts.add("--export", help="folder for parquet and CSV tables")
    opts.add("--out", help="folder for report.md, report.html and the figures")
    opts.switch("--stale", "list the cells computed by other code")
    opts.switch("--purge-stale", "delete the cells computed by other code")
    opts.switch("--include-stale", "keep cells of other code in tables")
    opts.add("--spec", help=SPEC_HELP)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from nsr_bench.metrics.summary import caption, table, text
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.plots.spec import load_spec
    from nsr_bench.results.export import export, frames, summary_rows
    from nsr_bench.results.report import write_report

    if args.stale or args.purge_stale:
        return stale(args)
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


def stale(args: argparse.Namespace) -> int:
    """``report --stale`` lists the cells computed by other code; ``--purge-stale`` deletes them."""
    from nsr_bench.identity import stale_cells

    store = stored_results(args.results)
    cells = stale_cells(store)
    verb = "deleted" if args.purge_stale else "stale"
    for c in cells:
        print(f"{verb} {c['hash']}  {c['scenario']}  {c['strategy']}  seed {c['seed']}  "
              f"code {c['code'] or '(no identity: older store)'}")
    if args.purge_stale and cells:
        store.purge([c["hash"] for c in cells])
    print(f"{len(cells)} cells {'deleted' if args.purge_stale else 'computed by other code'} "
          f"(other code or numeric libraries than this process has) in {store.url}")
    return 0
