"""A Markdown and HTML report: the summary table per scenario and strategy, the claims verdicts
(``nsr-bench claims``), the machines' throughput (cells per hour), and every figure."""

from __future__ import annotations

import html
from pathlib import Path

from nsr_bench.outputs import OutputFolder


def write_report(store, out: OutputFolder, spec=None) -> list[Path]:
    """Write ``report.md`` and ``report.html`` (figures under ``out/figures``, drawn with figure spec
    ``spec``, default the shipped one); returns the paths."""
    from nsr_bench.metrics.summary import caption, markdown, table, to_html
    from nsr_bench.plots import render_all
    from nsr_bench.results.export import summary_rows
    from nsr_bench.results.throughput import store_throughput
    from nsr_bench.results.throughput import table as throughput_table

    out.check("report.md", "report.html")
    figures, skipped, slopes = render_all(store, out.sub("figures"), spec)
    rows, reference = summary_rows(store, spec)
    head, lines = table(rows)
    note = caption(rows, reference)
    md = ["# nsr-bench report", "", f"Results: `{store.url}`", "", "## Summary", "",
          markdown(head, lines), "", note, ""]
    verdicts = claims_table(store)
    if verdicts is not None:
        md += ["## Claims (`nsr-bench claims`)", "", markdown(*verdicts), ""]
    speed = throughput_table(store_throughput(store))
    md += ["## Throughput (cells per busy hour, from the runs table)", "", markdown(*speed), ""]
    if slopes:
        md += ["## Cumulative regret slopes (per cycle; mean [95% t interval] of per-seed slopes)", ""]
        md += [f"- {s}: {v}" for s, v in sorted(slopes.items())] + [""]
    md += ["## Figures", ""] + [f"![{f.title}](figures/{f.png.name})" for f in figures] + [""]
    if skipped:
        md += ["## Not rendered", ""] + [f"- {r}" for r in skipped] + [""]
    written = [out.write_text("report.md", "\n".join(md))]
    body = [f"<h1>nsr-bench report</h1><p>Results: <code>{html.escape(store.url)}</code></p>",
            "<h2>Summary</h2>", to_html(head, lines), f"<p>{html.escape(note)}</p>"]
    if verdicts is not None:
        body += ["<h2>Claims (<code>nsr-bench claims</code>)</h2>", to_html(*verdicts)]
    body += ["<h2>Throughput (cells per busy hour, from the runs table)</h2>", to_html(*speed)]
    body += ["<h2>Figures</h2>",
             *(f'<p><img src="figures/{f.png.name}" style="max-width:100%"></p>' for f in figures)]
    if skipped:
        body += ["<h2>Not rendered</h2><ul>", *(f"<li>{html.escape(r)}</li>" for r in skipped), "</ul>"]
    written.append(out.write_text("report.html", "<!doctype html><meta charset='utf-8'><title>nsr-bench report"
                                  "</title>" + "\n".join(body)))
    return written


def claims_table(store) -> tuple[list[str], list[list[str]]] | None:
    """The stored claims verdicts as (header, rows) of text (None when ``nsr-bench claims`` has not been run
    on the store)."""
    from nsr_bench.claims.audit import HEADER, table_rows

    rows = store.claims()
    if not rows:
        return None
    body = [[r["protocol"], *cells] for r, cells in zip(rows, table_rows(rows), strict=True)]
    return ["protocol", *HEADER], body
