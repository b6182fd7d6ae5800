"""The one output writer: no silent overwrite, no writing through links, no system folders."""

import json
import os
from pathlib import Path

import pytest

from nsr_bench.cli import main
from nsr_bench.config import SpecError
from nsr_bench.outputs import OutputFolder, output_file, system_folder
from nsr_bench.results.export import export_cell


def error_line(capsys) -> str:
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("nsr-bench: error: ")
    return line


class OneCellStore:
    """The parts of a results store :func:`export_cell` reads, holding one finished cell."""

    def cell(self, prefix):
        return {"hash": "abcd", "manifest": json.dumps({"hash": "abcd"}), "summary": json.dumps({"acc": 0.5})}

    def rows(self, table, cell_hash):
        if table == "accuracy":
            return [{"mode": "oracle", "experience": 0, "task": 0, "acc": 0.5}]
        return [{"experience": 0, "task": 0, "recurrence": 0, "step": 0, "acc": 0.5}]

    def bank_bytes(self, cell_hash):
        return b"bank"


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path):
    (tmp_path / "a.txt").write_text("mine")
    with pytest.raises(SpecError, match=r"a\.txt already exists; pass --overwrite to replace it"):
        OutputFolder(tmp_path, "--out").write_text("a.txt", "new")
    assert (tmp_path / "a.txt").read_text() == "mine"
    OutputFolder(tmp_path, "--out", overwrite=True).write_text("a.txt", "new")
    assert (tmp_path / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporary file left


def test_new_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = OutputFolder(tmp_path, "--out").write_text("b.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_link_inside_the_folder_is_never_written_through(tmp_path, overwrite):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").symlink_to(elsewhere)
    with pytest.raises(SpecError, match=r"summary\.json is a symbolic link"):
        export_cell(OneCellStore(), "ab", OutputFolder(out, "--out", overwrite))
    assert elsewhere.read_text() == "precious" and sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_a_linked_sub_folder_leading_out_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "out" / "figures").symlink_to(tmp_path / "other")
    with pytest.raises(SpecError, match="outside"):
        OutputFolder(tmp_path / "out", "--out").sub("figures")


def test_export_cell_refuses_before_writing_anything_then_overwrites(tmp_path):
    export_cell(OneCellStore(), "ab", OutputFolder(tmp_path, "--out"))
    (tmp_path / "summary.json").write_text("edited")
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(SpecError, match=r"summary\.json already exists; pass --overwrite"):
        export_cell(OneCellStore(), "ab", OutputFolder(tmp_path, "--out"))
    assert not (tmp_path / "manifest.json").exists() and (tmp_path / "summary.json").read_text() == "edited"
    export_cell(OneCellStore(), "ab", OutputFolder(tmp_path, "--out", overwrite=True))
    assert json.loads((tmp_path / "summary.json").read_text()) == {"acc": 0.5}
    assert (tmp_path / "bank.safetensors").read_bytes() == b"bank"


def test_system_folders_are_refused_as_output_folders():
    assert system_folder(Path("/")) == "/" and system_folder(Path("/var")) == "/var"
    assert system_folder(Path("/etc/cron.d")) == "/etc" and system_folder(Path("/lib64/x")) == "/lib*"
    assert system_folder(Path("/var/tmp/x")) is None and system_folder(Path("/home/me")) is None
    for folder in ("/etc", "/proc/self", "/usr/local/share/x", "/"):
        with pytest.raises(SpecError, match="is a system folder"):
            OutputFolder(folder, "--out")
    assert not Path("/usr/local/share/x").exists()


def test_a_file_path_in_a_missing_folder_or_naming_a_folder_is_one_error(tmp_path):
    with pytest.raises(SpecError, match="does not exist; create it"):
        output_file(tmp_path / "missing" / "bank.safetensors", "--save")
    with pytest.raises(SpecError, match="is a folder; give a file path"):
        output_file(tmp_path, "--save")
    folder, name = output_file(tmp_path / "bank.safetensors", "--save")
    assert folder.path == tmp_path.resolve() and name == "bank.safetensors"


@pytest.mark.parametrize("args, message", [
    (["export-cell", "abcd", "--out", "/proc/self"], "is a system folder"),
    (["export-cell", "abcd", "--out", "/etc"], "is a system folder"),
    (["bank", "inspect", "--cell", "abcd", "--save", "{tmp}"], "is a folder; give a file path"),
    (["bank", "inspect", "--cell", "abcd", "--save", "{tmp}/no/bank.safetensors"], "does not exist"),
    (["train-rl", "--test", "--out", "{tmp}/no/p.json"], "does not exist"),
    (["train-rl", "--test", "--out", "{tmp}/p.json", "--figure", "{tmp}/taken.png"],
     "taken.png already exists; pass --overwrite"),
    (["figures", "--out", "/sys/x"], "is a system folder"),
    (["report", "--export", "/var"], "is a system folder"),
])
def test_cli_outputs_fail_before_any_work(tmp_path, capsys, args, message):
    (tmp_path / "taken.png").write_text("mine")
    args = [a.format(tmp=tmp_path) for a in args]
    assert main([*args, "--results", str(tmp_path / "store")] if args[0] != "train-rl" else args) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "store").exists() and not (tmp_path / "p.json").exists()


def test_without_hard_links_a_new_file_is_still_written_and_an_old_one_kept(tmp_path, monkeypatch):
    import errno

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    out = OutputFolder(tmp_path, "--out")
    assert out.write_text("a.txt", "new").read_text() == "new"
    with pytest.raises(SpecError, match="already exists"):
        out.write_text("a.txt", "newer")
    assert (tmp_path / "a.txt").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
