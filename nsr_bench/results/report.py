"""A Markdown and HTML report: the summary table per scenario and strategy, and every figure."""

from __future__ import annotations

import html
from pathlib import Path


def write_report(store, out: str | Path, spec=None) -> list[Path]:
    """Write ``report.md`` and ``report.html`` (figures under ``out/figures``, drawn with figure spec
    ``spec``, default the shipped one); returns the paths."""
    from nsr_bench.metrics.summary import caption, markdown, table, to_html
    from nsr_bench.plots import render_all
    from nsr_bench.results.export import summary_rows

    out = Path(out)
    figures, skipped, slopes = render_all(store, out / "figures", spec)
    rows, reference = summary_rows(store, spec)
    head, lines = table(rows)
    note = caption(rows, reference)
    md = ["# nsr-bench report", "", f"Results: `{store.url}`", "", "## Summary", "",
          markdown(head, lines), "", note, ""]
    if slopes:
        md += ["## Cumulative regret slopes (per cycle; mean [95% t interval] of per-seed slopes)", ""]
        md += [f"- {s}: {v}" for s, v in sorted(slopes.items())] + [""]
    md += ["## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in figures] + [""]
    if skipped:
        md += ["## Not rendered", ""] + [f"- {r}" for r in skipped] + [""]
    (out / "report.md").write_text("\n".join(md))
    body = [f"<h1>nsr-bench report</h1><p>Results: <code>{html.escape(store.url)}</code></p>",
            "<h2>Summary</h2>", to_html(head, lines), f"<p>{html.escape(note)}</p>",
            "<h2>Figures</h2>", *(f'<p><img src="figures/{p.name}" style="max-width:100%"></p>' for p in figures)]
    if skipped:
        body += ["<h2>Not rendered</h2><ul>", *(f"<li>{html.escape(r)}</li>" for r in skipped), "</ul>"]
    (out / "report.html").write_text("<!doctype html><meta charset='utf-8'><title>nsr-bench report</title>"
                                     + "\n".join(body))
    return [out / "report.md", out / "report.html"]
