"""A Markdown and HTML report: the summary table per scenario and strategy, the claims verdicts
(``nsr-bench claims``), the machines' throughput (cells per hour), the regret slopes, every figure and
where the numbers came from (this package's version; the cells' devices, thread counts and libraries).

Both files are rendered with Jinja2 from the templates shipped in ``nsr_bench/results/templates``. The
HTML page is self-contained (its style, its sorting script and its figures, as PNG data, are inside it,
so the one file can be mailed); the figures' PNG and PDF files are written beside it under ``figures/``.
Everything that comes from the store is escaped (HTML autoescaping; in Markdown, ``|`` and ``&<>``).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nsr_bench.metrics.summary import numeric_columns
from nsr_bench.outputs import OutputFolder

PROSE = 48  # a column with a longer cell wraps its text
LITERAL = re.compile(r"(?::[\w.]+:)?``?([^`]+?)``?")  # an RST literal in a caption: ``x``, `x`, :func:`x`


@dataclass(frozen=True)
class Table:
    """One table of the report: its anchor (``id``), heading, header and text rows, and the caption under it."""

    anchor: str
    title: str
    header: list[str]
    rows: list[list[str]]
    caption: str

    @property
    def numeric(self) -> list[bool]:
        """Per column, whether it holds numbers (right-aligned)."""
        return numeric_columns(self.rows) or [False] * len(self.header)

    @property
    def keys(self) -> int:
        """How many leading text columns name a row (at most two; they stay in view when the table scrolls)."""
        return min(2, next((i for i, n in enumerate(self.numeric) if n), len(self.header)))

    @property
    def prose(self) -> list[bool]:
        """Per column, whether it holds long text (wrapped; other columns keep each cell on one line)."""
        return [any(len(row[i]) > PROSE for row in self.rows) for i in range(len(self.header))]


def write_report(store, out: OutputFolder, spec=None) -> list[Path]:
    """Write ``report.md`` and ``report.html`` (figures under ``out/figures``, drawn with figure spec
    ``spec``, default the shipped one); returns the paths."""
    from nsr_bench.plots import render_all

    out.check("report.md", "report.html")
    figures, skipped, slopes = render_all(store, out.sub("figures"), spec)
    context = {"url": store.url, "tables": tables(store, spec, slopes), "figures": figures,
               "skipped": skipped, "provenance": provenance(store)}
    return [out.write_text(name, _environment().get_template(f"{name}.j2").render(context))
            for name in ("report.md", "report.html")]


def tables(store, spec, slopes: dict) -> list[Table]:
    """The report's tables: the summary, the claims verdicts (if any), throughput and regret slopes (if any)."""
    from nsr_bench.metrics.summary import caption, table
    from nsr_bench.results.export import summary_rows
    from nsr_bench.results.throughput import store_throughput
    from nsr_bench.results.throughput import table as throughput_table

    rows, reference = summary_rows(store, spec)
    out = [Table("summary", "Summary", *table(rows), caption(rows, reference))]
    verdicts = claims_table(store)
    if verdicts is not None:
        out.append(Table("claims", "Claims", *verdicts,
                         "The paper's claims judged on the stored cells (nsr-bench claims): the measured value "
                         "with its 95% interval over seeds, and the verdict with its reason."))
    out.append(Table("throughput", "Throughput", *throughput_table(store_throughput(store)),
                     "Cells per busy hour per machine, from the runs table: busy time is the union of the runs' "
                     "intervals; parallel is the most runs that overlapped."))
    if slopes:
        out.append(Table("regret-slopes", "Cumulative regret slopes",
                         ["strategy", "slope / cycle", "95% interval", "n"],
                         [[name, f"{iv.mean:.3f}", f"[{iv.low:.3f}, {iv.high:.3f}]" if iv.n >= 2 else "-",
                           str(iv.n)] for name, iv in sorted(slopes.items())],
                         "Per strategy, the mean of the per-seed least-squares slopes of cumulative regret over "
                         "cycles, with the 95% t interval over seeds (none for a single seed)."))
    return out


def claims_table(store) -> tuple[list[str], list[list[str]]] | None:
    """The stored claims verdicts as (header, rows) of text (None when ``nsr-bench claims`` has not been run
    on the store)."""
    from nsr_bench.claims.audit import HEADER, table_rows

    rows = store.claims()
    if not rows:
        return None
    body = [[r["protocol"], *cells] for r, cells in zip(rows, table_rows(rows), strict=True)]
    return ["protocol", *HEADER], body


def provenance(store) -> Table:
    """Where the numbers came from: the store, this package's version and, over the stored cells, the
    devices, torch thread counts and numeric library versions (each value with its cell count when they
    differ)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("nsr-bench")
    except PackageNotFoundError:  # run from a source tree that was never installed
        package = "not installed"
    identities = [json.loads(c["spec"]).get("identity") or {} for c in store.table("cells")]
    libraries = sorted({name for i in identities for name in i.get("libraries") or {}})
    rows = [["results", store.url], ["written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")],
            ["nsr-bench", package], ["cells", str(len(identities))],
            ["devices", _counted(i.get("device_name") for i in identities)],
            ["torch threads", _counted(i.get("threads") for i in identities)],
            *([name, _counted((i.get("libraries") or {}).get(name) for i in identities)] for name in libraries)]
    return Table("provenance", "Provenance", ["what", "value"], rows,
                 "From the stored cells' identities (what, besides its spec, determines a cell's numbers).")


def _counted(values: Iterable) -> str:
    """The distinct values, each with its count when there is more than one (``-`` when there are none)."""
    counts = Counter("-" if v is None else str(v) for v in values)
    if len(counts) <= 1:
        return next(iter(counts), "-")
    return ", ".join(f"{v} ({n} cells)" for v, n in counts.most_common())


@functools.cache
def _environment():
    """The Jinja2 environment of the shipped templates: ``*.html.j2`` autoescaped, Markdown filters."""
    import jinja2

    from nsr_bench.metrics.summary import markdown

    env = jinja2.Environment(loader=jinja2.PackageLoader("nsr_bench.results", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(cell=_cell, data_uri=_data_uri, literals=_literals, md=_md, code=_code,
                       md_table=lambda t: markdown(t.header, t.rows))
    return env


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()


def _literals(value: str):
    """HTML of text with RST literals (````x````, ``:func:`x```) as ``<code>``, everything else escaped."""
    from markupsafe import Markup, escape

    parts = LITERAL.split(str(value))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p)
                           for i, p in enumerate(parts))


def _cell(value: str):
    """HTML of a table cell, the half-width of a ``mean ± half-width`` muted so that the means stand out."""
    from markupsafe import Markup

    mean, pm, half = str(value).partition(" ± ")
    return Markup('{} <span class="pm">± {}</span>').format(mean, half) if pm else str(value)


def _md(value: str) -> str:
    """Text safe in Markdown prose: HTML's ``&<>`` escaped, RST literals as code spans, line breaks joined."""
    parts = LITERAL.split(" ".join(str(value).split()))
    return "".join(_code(p) if i % 2 else html.escape(p, quote=False) for i, p in enumerate(parts))


def _code(value: str) -> str:
    """``value`` as a Markdown code span, fenced by more backticks than it holds in a row."""
    value = str(value)
    fence = "`" * (max(map(len, re.findall("`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
