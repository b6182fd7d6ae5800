"""The extension guide's worked example (docs/extending.md, examples/nsr-mas): installed as a package, run."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nsr-mas"


def test_the_guide_shows_the_example_files_as_they_are():
    guide = (ROOT / "docs" / "extending.md").read_text()
    shown = dict(re.findall(r"`examples/nsr-mas/([^`]+)`:\n\n```\w+\n(.*?)\n```", guide, re.S))
    assert set(shown) == {"pyproject.toml", "nsr_mas/method.py", "nsr_mas/plugin.py", "strategies/mas.yaml"}
    for rel, text in shown.items():
        assert text == (EXAMPLE / rel).read_text().rstrip(), f"docs/extending.md shows an old {rel}"


def test_the_example_installs_as_a_package_and_runs(tmp_path):
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
           str(site), str(EXAMPLE)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    assert (site / "nsr_mas").is_dir() and list(site.glob("nsr_mas-*.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": str(site), "NSR_SPEC_PATH": str(EXAMPLE)}
    command = [sys.executable, "-m", "nsr_bench.cli", "run", "--test", "--json", "--results", str(tmp_path),
               "--strategy", "mas", "--strategy", "mas[mas_lambda=0]", "--strategy", "carry"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    mas, unpenalised, carry = json.loads(done.stdout)
    assert unpenalised["acc"] == carry["acc"]          # no penalty: the plain adapters, as carry trains them
    assert mas["acc"] != carry["acc"] and abs(mas["bwt"]) < abs(carry["bwt"])  # the penalty protects old tasks
    assert mas["memory_mb"] > 0                         # its importances and anchors, counted by report()
    typo = subprocess.run([*command[:-6], "--strategy", "mas[mas_lamda=5]"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert typo.returncode == 2 and "mas_lamda: unknown key" in typo.stderr
