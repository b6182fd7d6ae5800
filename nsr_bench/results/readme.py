"""The numbers the README and the docs show, regenerated from a results store so that they cannot go stale.

A generated part of a Markdown file sits between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``; this
module knows how to write each NAME (:data:`BLOCKS`) and replaces what is between the two lines:

    python -m nsr_bench.results.readme --results results README.md docs/distributed.md

Only the generated blocks are rewritten. The store is the one the README's three jobs (:data:`JOBS`)
wrote: each job's cell count comes from its spec, its time from the store's ``runs`` table (the union of
its cells' run intervals), and the third job, the report, is rendered again and timed; its ablation
figure becomes the README's picture.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

MARK = re.compile(r"(?P<head><!-- begin (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(?P<tail><!-- end (?P=name) -->)",
                  re.S)
ABLATION = "paper_ablation"
ABLATION_JOBS = 2
SWEPT = ("nsr", "carry")
TRIALS = 20
JOBS = {"matrix": f"nsr-bench matrix {ABLATION} -j {ABLATION_JOBS}",
        "sweep": "nsr-bench sweep " + " ".join(f"--strategy {s}" for s in SWEPT) + f" --trials {TRIALS}",
        "report": "nsr-bench report --out report"}
"""The README's three jobs, in the order a user runs them (the report reads what the first two stored)."""
PICTURE = Path("docs/figures/readme_ablation.png")
"""The README's picture, relative to the README's folder."""


@dataclass
class Sources:
    """What the blocks are made from: the store the jobs wrote, where the README's picture goes, and whether
    the jobs ran at their test size (``--test``, the matrix with ``seeds``), as the README's test runs them."""

    store: object
    picture: Path
    test: bool = False
    seeds: list[int] | None = None

    @cached_property
    def ablation(self) -> list:
        """The cells ``matrix paper_ablation -j 2`` runs (their hashes include the per-worker thread count),
        resolved once for every block."""
        from nsr_bench.matrix import expand, load_matrix, with_options, worker_threads

        return expand(with_options(load_matrix(ABLATION), self.test, self.seeds), "cpu",
                      worker_threads(ABLATION_JOBS))[0]


def sweep_cells(sources: Sources) -> list[str]:
    """The hashes of the cells the README's sweep evaluated: its trials and each strategy's default cell."""
    from nsr_bench.plots import studies
    from nsr_bench.resolution import resolve_cell

    names = {f"sweep-{s}-digits_cyclic-acc_val" + "-test" * sources.test for s in SWEPT}
    trials = [t.user_attrs["cell"] for study in studies(sources.store.url) if study.study_name in names
              for t in study.trials if "cell" in t.user_attrs]
    defaults = [resolve_cell("digits_cyclic", s, 0, "cpu", sources.test, tuned=False).hash for s in SWEPT]
    return trials + [h for h in defaults if trials and sources.store.done(h)]


def busy_minutes(store, hashes: set[str]) -> float:
    """Minutes during which at least one finished run of ``hashes`` was running (from the ``runs`` table)."""
    from nsr_bench.results.throughput import busy_seconds

    spans = [(r["started_at"], r["finished_at"]) for r in store.table("runs")
             if r["hash"] in hashes and r["status"] == "done" and r["finished_at"] is not None]
    return busy_seconds(spans) / 60


def jobs_block(sources: Sources) -> str:
    """The three commands, each with its cell count and time, as one shell block; the report's ablation
    figure is copied to the README's picture."""
    store = sources.store
    cells = {c.spec.hash for c in sources.ablation}
    missing = sorted(cells - {r["hash"] for r in store.table("cells")})
    if missing:
        raise LookupError(f"{store.url} lacks {len(missing)} of the {len(cells)} cells of `{JOBS['matrix']}`; "
                          "run it into that store first")
    trials = sweep_cells(sources)
    if not trials:
        raise LookupError(f"{store.url} holds no study of `{JOBS['sweep']}`; run it into that store first")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        report = render_report(store, Path(folder))
        seconds = time.perf_counter() - started
        sources.picture.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report / "figures" / "ablation.png", sources.picture)
    notes = {"matrix": f"# 1. the ablation: {len(cells)} cells, {busy_minutes(store, cells):.0f} min",
             "sweep": f"# 2. the sweeps: {len(trials)} cells, {busy_minutes(store, set(trials)):.0f} min",
             "report": f"# 3. figures + HTML/Markdown report, {seconds:.0f} s"}
    width = max(len(c) for c in JOBS.values())
    return "```bash\n" + "\n".join(f"{JOBS[j].ljust(width)}  {notes[j]}" for j in JOBS) + "\n```\n"


def render_report(store, folder: Path) -> Path:
    """The README's third job, rendered into ``folder``: the report folder."""
    from nsr_bench.outputs import OutputFolder
    from nsr_bench.results.report import write_report

    write_report(store, OutputFolder(folder / "report", "--out"))
    return folder / "report"


def ablation_block(sources: Sources) -> str:
    """ACC, recovery steps and regret of every allocation rule of the ablation with the Bank and
    distillation at the reference's values, as a Markdown table with its caption."""
    from nsr_bench.matrix import load_matrix, summary_table
    from nsr_bench.metrics.summary import caption, markdown, table
    from nsr_bench.plots.spec import display_name

    reference = load_matrix(ABLATION).reference
    fixed = {k: v for k, v in reference.items() if k != "strategy"}
    shown = [c for c in sources.ablation if all(c.combo[k] == v for k, v in fixed.items())]
    rows = summary_table(shown, [sources.store.summary(c.spec.hash) for c in shown], reference)
    metrics, compared = ("acc", "recovery_steps_mean", "regret"), ("recovery_steps_mean",)
    head, body = table(rows, metrics, compared, label_header="rule")
    rule = {c.label: display_name(c.combo["strategy"]) for c in shown}
    head, body = head[1:], [[rule[line[1]], *line[2:]] for line in body]
    return markdown(head, body) + "\n\n" + textwrap.fill(caption(rows, display_name("nsr")), 115) + "\n"


def matrices_block(_sources: Sources) -> str:
    """Every shipped matrix with its description and cell count (from the specs; no store needed)."""
    from nsr_bench.matrix import expand, load_matrix
    from nsr_bench.registry import shipped_dir

    lines = ["| matrix | cells | what it varies |", "|---|---|---|"]
    for path in sorted(shipped_dir("matrices").glob("*.yaml")):
        spec = load_matrix(path)
        lines.append(f"| `{spec.name}` | {len(expand(spec)[0])} | {spec.description} |")
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable] = {"jobs": jobs_block, "ablation": ablation_block, "matrices": matrices_block}


def fill(text: str, sources: Sources, where: str) -> str:
    """``text`` with every generated block rewritten from ``sources``; an unknown block name is an error."""
    def block(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"{where}: unknown generated block {name!r}; known: {', '.join(BLOCKS)}")
        return match["head"] + BLOCKS[name](sources) + match["tail"]

    return MARK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    from nsr_bench.cli.common import parse_seeds
    from nsr_bench.results.store import ResultsStore

    parser = argparse.ArgumentParser(prog="python -m nsr_bench.results.readme", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="Markdown files with generated blocks (the first: "
                        "the README, beside whose folder the picture goes)")
    parser.add_argument("--results", required=True, help="the store the README's jobs wrote")
    parser.add_argument("--test", action="store_true", help="the jobs ran at their test size (--test)")
    parser.add_argument("--seeds", type=parse_seeds, help="the seeds the matrix job ran with (--seeds)")
    args = parser.parse_args(argv)
    sources = Sources(ResultsStore(args.results, create=False), args.files[0].parent / PICTURE, args.test,
                      args.seeds)
    for path in args.files:
        old = path.read_text()
        new = fill(old, sources, str(path))
        print(f"{'rewrote' if new != old else 'unchanged'}: {path}")
        path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
