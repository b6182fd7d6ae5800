"""``nsr-bench report --out`` on a copy of the small store with a claims verdict whose texts are markup: the
Markdown and HTML content (escaping, captions, display names, a self-contained page), and the page in a real
headless Chromium (it draws, every figure loads, the contents links resolve, a header click sorts)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from html.parser import HTMLParser

import pytest

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> | `x`'
DISPLAY = {"NSR (Bank + similarity) [cap=50]", "NSR (Bank + similarity) [cap=1]", "Fresh (memoryless)"}
SELECTORS = {"nsr", "nsr[cap=1]", "fresh", "carry"}  # the store's strategy selectors: never shown as names
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(small_store, tmp_path_factory):
    """The report folder of a copy of ``small_store`` holding one hostile claims verdict."""
    from nsr_bench.cli import main
    from nsr_bench.results.store import ResultsStore

    root = tmp_path_factory.mktemp("report")
    (root / "results").mkdir()
    with sqlite3.connect(small_store.url.removeprefix("sqlite:///")) as src, \
            sqlite3.connect(root / "results" / "nsr.db") as dst:
        src.backup(dst)
    verdict = {"claim": HOSTILE, "scenario": "digits_cyclic", "recurrence": "resample", "n": 2, "paper": "10x",
               "comparison": "", "verdict": "supported", "reason": f"{HOSTILE} and a reason long enough to wrap",
               "measured": 2.5, "ci": [1.0, 4.0]}
    ResultsStore(root / "results").write_claims("tests", [verdict], "code")
    assert main(["report", "--results", str(root / "results"), "--out", str(root / "out")]) == 0
    return root / "out"


class Page(HTMLParser):
    """The cells of every table by the id of its section, and the ``src`` of every image."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._section, self._cell = None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs["id"]
        elif tag == "tr":
            self.tables.setdefault(self._section, []).append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[self._section][-1].append(" ".join(self._cell.split()))
            self._cell = None


def test_markdown_has_contents_tables_captions_and_figure_links(report):
    md = (report / "report.md").read_text()
    assert "## Contents" in md and "- [Summary](#summary)" in md and '<a id="summary"></a>' in md
    assert "| NSR (Bank + similarity) [cap=50] | 2 |" in md and "n = 2 seeds per row" in md
    assert "Holm-adjusted" in md and "| machine | scenario | cells |" in md and "## Throughput" in md
    figures = sorted(p.stem for p in (report / "figures").glob("*.png"))
    assert len(figures) == 7 and md.count("**Figure ") == 7
    for stem in figures:
        assert f"](#figure-{stem})" in md and f'<a id="figure-{stem}"></a>' in md
        assert f"](figures/{stem}.png)" in md and f"([PDF](figures/{stem}.pdf))" in md
        assert (report / "figures" / f"{stem}.pdf").stat().st_size > 1000
    assert "## Not rendered" in md and "## Provenance" in md and "| torch | 2." in md


def test_store_text_is_escaped_in_html_and_markdown(report):
    page, md = (report / "report.html").read_text(), (report / "report.md").read_text()
    for text in (page, md):
        assert "<script>window" not in text and "<img src=x" not in text and "&lt;script&gt;" in text
    assert "&lt;img src=x onerror=&#34;window.pwned = 2&#34;&gt;" in page
    assert "&lt;img src=x onerror=\"window.pwned = 2\"&gt; \\| `x` |" in md  # a pipe cannot split the cell
    (claim,) = [row[1] for row in Page(page).tables["claims"][1:]]
    assert claim == HOSTILE  # shown as the text it is


def test_html_is_self_contained_with_captions_under_figures_and_tables(report):
    text = (report / "report.html").read_text()
    page = Page(text)
    assert len(page.images) == 7 and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert "<link" not in text and "<script src" not in text and "url(" not in text
    assert text.count("<figcaption><strong>Figure ") == 7
    assert all(f'<a href="figures/{p.name}">PDF</a>' in text for p in (report / "figures").glob("*.pdf"))
    sections = re.findall(r'<section id="([\w-]+)">', text)
    tables = [s for s in sections if s in page.tables]
    assert tables == ["summary", "claims", "throughput", "regret-slopes", "provenance"]
    assert text.count('<p class="caption">') == len(tables)


def test_tables_show_display_names_not_selectors(report):
    tables = Page((report / "report.html").read_text()).tables
    header, *rows = tables["summary"]
    assert header[:2] == ["scenario", "strategy"] and {r[1] for r in rows} == DISPLAY
    assert {r[0] for r in tables["regret-slopes"][1:]} == DISPLAY
    assert not SELECTORS & {cell for table in tables.values() for row in table for cell in row}


@pytest.fixture(scope="session")  # set up before the small store, so that a skip costs nothing
def browser():
    """A headless Chromium (the system's, never a downloaded one) driven by playwright; skipped where there is
    none, failed instead when ``NSR_REQUIRE_BROWSER=1`` (CI)."""
    executable = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("no Chromium on PATH (apt-get install chromium)" if executable is None
               else "playwright is not installed (pip install -e '.[dev]')" if sync_playwright is None else None)
    if missing:
        if os.environ.get("NSR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NSR_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


def column(page, section: str, header: str) -> list[str]:
    """The cells of one column of a table, in the order shown."""
    return page.evaluate("""([section, header]) => {
        const table = document.querySelector(`#${section} table`);
        const i = Array.from(table.tHead.rows[0].cells).findIndex((th) => th.textContent.trim() === header);
        return Array.from(table.tBodies[0].rows, (row) => row.cells[i].textContent.trim());
    }""", [section, header])


def leading(cell: str) -> float:
    return float(re.match(r"[+-]?[\d.]+", cell).group())


def test_page_in_a_headless_browser(browser, report, tmp_path):
    from PIL import Image

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((report / "report.html").as_uri())
    shot = tmp_path / "report.png"
    page.screenshot(path=shot, full_page=True)
    image = Image.open(shot)
    assert shot.stat().st_size > 100_000 and image.height > 3000
    assert len(image.convert("RGB").getcolors(1 << 24)) > 500  # text, tables and figures, not one colour

    sizes = page.evaluate("Array.from(document.images, (img) => img.complete ? img.naturalWidth : 0)")
    assert len(sizes) == 7 and all(w > 100 for w in sizes)
    targets = page.evaluate("Array.from(document.querySelectorAll('#contents a'), (a) => a.getAttribute('href'))")
    # 4 tables, figures and each of the 7, not rendered, provenance
    assert len(targets) == 4 + 1 + 7 + 1 + 1 and all(t.startswith("#") for t in targets)
    missing = page.evaluate("(ids) => ids.filter((id) => !document.getElementById(id))", [t[1:] for t in targets])
    assert missing == []

    before = column(page, "summary", "bwt")
    assert len(set(before)) > 1
    page.click("#summary th:has-text('bwt')")
    assert column(page, "summary", "bwt") == sorted(before, key=leading)
    page.click("#summary th:has-text('bwt')")
    assert column(page, "summary", "bwt") == sorted(before, key=leading, reverse=True)
    page.click("#summary th:has-text('Δacc (p)')")
    assert column(page, "summary", "Δacc (p)")[-1] == ""  # the reference, untested, sorts last
    page.click("#summary th:has-text('strategy')")
    assert column(page, "summary", "strategy") == sorted(DISPLAY)

    assert page.evaluate("window.pwned") is None and errors == []
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.files')).display") == "none"
