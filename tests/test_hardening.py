"""CLI hardening: shared options, one-line errors, damaged stores, abandoned runs, orphan-free
matrices, trusted spec targets, per-cell export and the specs shipped inside the wheel."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from nsr_bench.cli import build_parser, main
from nsr_bench.results.store import ResultsStore, store_url

ROOT = Path(__file__).resolve().parent.parent


def error_line(capsys) -> str:
    """The last stderr line, which must be the one ``nsr-bench: error:`` line."""
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("nsr-bench: error: ")
    return line


def test_shared_options_keep_each_commands_defaults():
    parser = build_parser()
    run = parser.parse_args(["run"])  # None: not given, so that --config can set it
    assert (run.results, run.device, run.data_root, run.json) == (None, None, None, None)

    def parsed(*argv):
        args = parser.parse_args(argv)
        args.options.resolve(args)
        return args

    run = parsed("run")
    assert (run.results, run.device, run.data_root, run.json) == ("results", "auto", None, False)
    mat = parsed("matrix", "x.yaml", "--json", "--data-root", "d")
    assert (mat.results, mat.device, mat.data_root, mat.json) == ("results", "cpu", "d", True)
    assert parsed("worker", "--storage", "u", "--study", "s").results is None
    assert parsed("sweep").device == "cpu"
    for command in (["report"], ["figures"], ["bank", "inspect"], ["export-cell", "h", "--out", "o"]):
        assert parsed(*command).results == "results"
    assert parsed("data").data_root is None


def test_bad_arguments_get_one_line_errors(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    cases = [
        (["run", "--seeds", "3-1", "--results", str(tmp_path)], "--seeds '3-1' names no seed"),
        (["sweep", "--trials", "0", "--strategy", "carry"], "--trials 0: give at least 1"),
        (["sweep", "--trials", "-1", "--strategy", "carry"], "--trials -1: give at least 1"),
        (["figures", "--results", str(tmp_path), "--out", str(a_file)], "is a file, not a folder"),
        (["report", "--results", str(tmp_path), "--export", str(a_file / "sub")], "cannot create the folder"),
        (["worker", "--storage", f"sqlite:///{tmp_path}/no/such/dir/q.db", "--study", "s"],
         "cannot open the storage"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        assert message in error_line(capsys)
    assert not (tmp_path / "nsr.db").exists()


def test_matrix_with_nothing_to_run_or_an_unmatched_reference_is_an_error(tmp_path, capsys):
    skipped = tmp_path / "skipped.yaml"
    skipped.write_text("name: s\nscenarios: [digits_cyclic]\ntest: true\n"
                       "factors: {bank: [false], strategy: [nsr]}\n")
    assert main(["matrix", str(skipped), "--results", str(tmp_path)]) == 2
    assert "every combination was skipped (1), nothing to run" in error_line(capsys)
    for reference in ("{bank: false, strategy: nsr}", "{bank: true}", "{bank: true, strategy: fresh, x: 1}"):
        spec = tmp_path / "ref.yaml"
        spec.write_text("name: r\nscenarios: [digits_cyclic]\ntest: true\n"
                        f"factors: {{bank: [true, false], strategy: [fresh, nsr]}}\nreference: {reference}\n")
        assert main(["matrix", str(spec), "--results", str(tmp_path)]) == 2
        assert "matches no combination that runs" in error_line(capsys)
    assert not (tmp_path / "nsr.db").exists()


def damage(kind: str, folder: Path) -> None:
    folder.mkdir()
    db = folder / "nsr.db"
    if kind == "random":
        db.write_bytes(os.urandom(20000))
        return
    if kind == "foreign":
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
        return
    store = ResultsStore(folder)
    with store.engine.begin() as conn:  # enough pages that damage hits the tables
        conn.execute(store.schema.runs.insert(), [{"hash": f"{i:016x}", "worker": "x", "started_at": 0.0,
                                                   "status": "done", "error": "e" * 500} for i in range(200)])
    store.engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    with open(db, "r+b") as f:
        if kind == "truncated":
            f.truncate(size // 3)
        else:
            f.seek(size // 2)
            f.write(os.urandom(size // 4))


@pytest.mark.parametrize("kind, message", [
    ("random", "is damaged or not a database"), ("truncated", "is damaged or not a database"),
    ("overwritten", "is damaged or not a database"), ("foreign", "is not an nsr-bench results store"),
])
def test_damaged_or_foreign_store_is_a_clear_error(tmp_path, capsys, kind, message):
    damage(kind, tmp_path / "store")
    for args in (["report"], ["run", "--test", "--strategy", "carry"]):
        assert main([*args, "--results", str(tmp_path / "store")]) == 2
        assert message in error_line(capsys)
    if kind == "foreign":  # nothing of ours was added to another program's database
        with sqlite3.connect(tmp_path / "store" / "nsr.db") as conn:
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert tables == [("invoices",)]


def test_a_db_file_is_the_sqlite_store_itself(tmp_path):
    assert store_url(tmp_path / "my.db") == f"sqlite:///{tmp_path / 'my.db'}"
    assert store_url(tmp_path) == f"sqlite:///{tmp_path / 'nsr.db'}"
    ResultsStore(tmp_path / "my.db")
    assert (tmp_path / "my.db").is_file()


def test_runs_of_dead_processes_on_this_host_become_abandoned(tmp_path):
    store = ResultsStore(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    now = time.time()
    workers = {"dead": f"{host}:{dead.pid}", "alive": f"{host}:{os.getpid()}",
               "reused": f"{host}:{os.getpid()}", "elsewhere": f"other-host-{host}:{dead.pid}"}
    started = {"reused": now - 10 ** 6}  # this pid's process is younger than that run: the pid was reused
    with store.engine.begin() as conn:
        conn.execute(store.schema.runs.insert(), [
            {"hash": name, "worker": w, "started_at": started.get(name, now), "status": "running"}
            for name, w in workers.items()])
    status = {r["hash"]: r["status"] for r in ResultsStore(tmp_path).table("runs")}
    assert status == {"dead": "abandoned", "alive": "running", "reused": "abandoned", "elsewhere": "running"}


def child_pids(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_sigkill_of_a_parallel_matrix_leaves_no_orphan_workers(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "nsr_bench.cli", "matrix", "tiny", "-j", "2",
                             "--results", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:  # both workers have started a cell
            if (tmp_path / "nsr.db").exists() and len(ResultsStore(tmp_path).table("runs")) >= 2:
                break
            time.sleep(0.3)
        workers = {int(r["worker"].rpartition(":")[2]) for r in ResultsStore(tmp_path).table("runs")}
        assert len(workers) == 2 and workers <= child_pids(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.time() + 5
    while any(alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.1)
    orphans = [p for p in workers if alive(p)]
    for pid in orphans:  # do not leave them running the rest of the matrix
        os.kill(pid, 9)
    assert not orphans, "orphaned matrix workers"
    statuses = [r["status"] for r in ResultsStore(tmp_path).table("runs")]
    assert "running" not in statuses and "abandoned" in statuses


def test_export_cell_writes_one_cells_files(tmp_path, capsys):
    from nsr_bench.nsr.bank import TaskKnowledgeBank

    assert main(["run", "--test", "--strategy", "nsr", "--json", "--results", str(tmp_path)]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    out = tmp_path / "cell"
    assert main(["export-cell", summary["hash"][:8], "--results", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_matrix.csv", "bank.safetensors", "curves.csv",
                                                    "manifest.json", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["acc"] == summary["acc"]
    assert json.loads((out / "manifest.json").read_text())["hash"] == summary["hash"]
    matrix = (out / "accuracy_matrix.csv").read_text().splitlines()
    assert matrix[0] == "mode,experience,task_0,task_1,task_2" and len(matrix) == 1 + 2 * 7
    assert len(TaskKnowledgeBank.load(out / "bank.safetensors")) > 0
    assert main(["export-cell", "ffff", "--results", str(tmp_path), "--out", str(out)]) == 2
    assert "no finished cell with hash 'ffff'" in error_line(capsys)


# ------------------------------------------------------------------ trusted spec targets
def write_spec(folder: Path, kind: str, name: str, body: str | dict) -> None:
    (folder / kind).mkdir(parents=True, exist_ok=True)
    (folder / kind / f"{name}.yaml").write_text(body if isinstance(body, str) else yaml.safe_dump(body))


def carry_spec(**changes) -> dict:
    return {**yaml.safe_load((ROOT / "strategies" / "carry.yaml").read_text()), **changes}


@pytest.mark.parametrize("kind, body", [
    ("strategies", "name: evil\ndescription: x\nimpl: evil_module_nsr_test\n"),
    ("scenarios", "name: evil\ndescription: x\nbuilder: 'evil_module_nsr_test:build'\n"),
    ("scenarios", "name: evil\ndescription: x\nbuilder: 'os:system'\n"),
])
def test_specs_naming_untrusted_code_are_refused_before_import(tmp_path, monkeypatch, capsys, kind, body):
    (tmp_path / "evil_module_nsr_test.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    write_spec(tmp_path, kind, "evil", body)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--test", "--strategy", "carry", "--results", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert f"is not trusted code: name a module of nsr_bench.{kind}" in line and f"{kind}/evil.yaml" in line
    assert "evil_module_nsr_test" not in sys.modules
    assert not (tmp_path / "nsr.db").exists()


def test_a_strategy_registered_by_entry_point_runs(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "site"
    (pkg / "nsr_plugin_example").mkdir(parents=True)
    (pkg / "nsr_plugin_example" / "__init__.py").write_text(
        "from nsr_bench.registry import lookup, resolve\n"
        "_carry = resolve(lookup('strategies', 'carry').impl)\n"
        "Params, build = _carry.Params, _carry.build\n")
    dist = pkg / "nsr_plugin_example-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nsr-plugin-example\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[nsr_bench.strategies]\nexample = nsr_plugin_example\n")
    monkeypatch.syspath_prepend(str(pkg))
    specs = tmp_path / "specs"
    write_spec(specs, "strategies", "by_name", carry_spec(name="by_name", impl="example"))
    write_spec(specs, "strategies", "by_value", carry_spec(name="by_value", impl="nsr_plugin_example"))
    monkeypatch.setenv("NSR_SPEC_PATH", str(specs))
    assert main(["run", "--test", "--json", "--strategy", "by_name", "--strategy", "by_value", "--strategy",
                 "carry", "--results", str(tmp_path)]) == 0
    by_name, by_value, carry_summary = json.loads(capsys.readouterr().out)
    assert by_name["acc"] == by_value["acc"] == carry_summary["acc"]


# ------------------------------------------------------------------ specs inside the wheel
def test_wheel_ships_the_specs_and_finds_them_from_an_empty_folder(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("nsr_bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("strategies", "scenarios", "matrices"):
        shipped = {f"nsr_bench/_specs/{kind}/{p.name}" for p in (ROOT / kind).glob("*.yaml")}
        assert shipped and shipped <= names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NSR_SPEC_PATH"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    code = ("from nsr_bench import registry; from nsr_bench.matrix import load_matrix\n"
            "print(registry.shipped_dir('strategies')); print(sorted(registry.strategies()))\n"
            "print(sorted(registry.scenarios())); print(load_matrix('tiny').name)")
    out = subprocess.run([sys.executable, "-c", code], cwd=empty, env=env, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == str(tmp_path / "site" / "nsr_bench" / "_specs" / "strategies")
    assert eval(out[1]) == sorted(p.stem for p in (ROOT / "strategies").glob("*.yaml"))
    assert "digits_cyclic" in eval(out[2]) and out[3] == "tiny"


def test_local_and_spec_path_folders_still_shadow_the_shipped_specs(tmp_path, monkeypatch):
    from nsr_bench import registry

    write_spec(tmp_path / "cwd", "strategies", "carry", carry_spec(description="LOCAL"))
    write_spec(tmp_path / "extra", "strategies", "carry", carry_spec(description="EXTRA"))
    monkeypatch.setenv("NSR_SPEC_PATH", str(tmp_path / "extra"))
    monkeypatch.chdir(tmp_path / "cwd")
    assert registry.strategies()["carry"].description.startswith("LOCAL")
    monkeypatch.chdir(tmp_path)
    assert registry.strategies()["carry"].description.startswith("EXTRA")
    monkeypatch.delenv("NSR_SPEC_PATH")
    assert registry.spec_dirs("strategies") == [registry.shipped_dir("strategies")]
