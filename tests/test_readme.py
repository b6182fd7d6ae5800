"""The README: one screen, links that resolve, and every command it shows run (the cell-running ones at
their test size, in a fresh folder, in the README's order)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
SETUP = ("python3.11 -m venv", "pip install", "pytest")
"""Commands `.ci/run` runs itself on a clean clone, exactly as the README shows them."""
TEST_SIZE = {"matrix": ["--test", "--seeds", "0"], "sweep": ["--test", "--trials", "2"], "run": ["--test"],
             "claims": ["--test"]}
"""What each cell-running command gets appended in this test: its tiny test configuration."""


def commands(path: Path) -> list[str]:
    """Every command line of the file's ``bash`` blocks, comments stripped."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(), re.S)
    lines = (line.split("  #")[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_fits_a_first_screen():
    lines = README.read_text().splitlines()
    assert len(lines) < 60 and max(map(len, lines)) <= 120


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(doc):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if not re.match(r"[a-z]+://", target):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


def test_the_readme_shows_the_three_jobs_and_setup_that_ci_runs():
    shown = commands(README)
    ci = (ROOT / ".ci" / "run").read_text()
    for command in shown:
        if command.startswith(SETUP):
            assert command.split(" && ")[0] in ci, f".ci/run does not run the README's {command!r}"
    assert [c.split()[1] for c in shown if c.startswith("nsr-bench")] == ["matrix", "sweep", "report"]


def test_every_readme_command_runs(tmp_path, monkeypatch, capsys):
    from nsr_bench.cli import main
    from nsr_bench.results import readme

    monkeypatch.chdir(tmp_path)
    for name in ("README.md", "docs/distributed.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    for command in commands(README):
        if command.startswith(SETUP):
            continue
        argv = shlex.split(command)
        if argv[0] == "nsr-bench":
            assert main(argv[1:] + TEST_SIZE.get(argv[1], [])) == 0, command
        else:
            assert argv[:3] == ["python", "-m", "nsr_bench.results.readme"], f"unknown README command {command}"
            assert readme.main([*argv[3:], "--test", "--seeds", "0"]) == 0
    regenerated = (tmp_path / "README.md").read_text()
    assert "<!-- begin jobs -->\n```bash\nnsr-bench matrix paper_ablation" in regenerated
    assert (tmp_path / "report" / "report.html").exists() and (tmp_path / readme.PICTURE).stat().st_size > 10_000
