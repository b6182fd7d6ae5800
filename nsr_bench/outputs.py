"""The one way the command line writes files: into a checked output folder, never replacing a file
unless ``--overwrite`` was given, never through a symbolic link, never into a system folder.

Each file is written to a fresh temporary file in its folder (``O_CREAT | O_EXCL | O_NOFOLLOW``) and then
moved onto its name: with ``--overwrite`` by :func:`os.replace`, without it by a hard link, which fails if
the name exists (no window between the check and the write).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path
from typing import BinaryIO

from nsr_bench.config import SpecError

# Folders refused as output folders (after resolving links): pattern -> whether everything under it is too.
SYSTEM_FOLDERS = {"/": False, "/var": False, "/etc": True, "/proc": True, "/sys": True, "/dev": True,
                  "/usr": True, "/bin": True, "/sbin": True, "/boot": True, "/lib*": True, "/run": True}
NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK)  # os.link's "not here" errors


def system_folder(folder: Path) -> str | None:
    """The :data:`SYSTEM_FOLDERS` pattern the resolved ``folder`` falls under, if any."""
    parts = folder.parts
    for pattern, below in SYSTEM_FOLDERS.items():
        head = Path(pattern).parts
        if (len(parts) == len(head) or (below and len(parts) > len(head))) and all(
                fnmatch(p, h) for p, h in zip(parts, head, strict=False)):
            return pattern
    return None


class OutputFolder:
    """A folder files are written into, created (with its parents) if missing.

    Args:
        value: the folder as the user gave it.
        flag: the option that named it, for error messages.
        overwrite: whether existing files may be replaced.
    """

    def __init__(self, value: str | Path, flag: str, overwrite: bool = False):
        self.flag, self.overwrite = flag, overwrite
        self.path = Path(value).resolve()
        where = f"{flag} {value}"
        pattern = system_folder(self.path)
        if pattern is not None:
            under = "" if self.path == Path(pattern) else f" (under {pattern})"
            raise SpecError(f"{where}: {self.path} is a system folder{under}; give a folder of your own to "
                            "write into")
        if self.path.exists() and not self.path.is_dir():
            raise SpecError(f"{where}: is a file, not a folder; give a folder to write into")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"{where}: cannot create the folder ({exc.strerror or exc})") from None

    def sub(self, name: str) -> OutputFolder:
        """The folder ``name`` inside this one; a link leading out of it is refused."""
        target = self._target(name)
        if target.is_symlink() and not target.resolve().is_relative_to(self.path):
            raise SpecError(f"{self.flag}: {target} is a symbolic link to {target.resolve()}, outside "
                            f"{self.path}; remove the link or give another folder")
        return OutputFolder(target, self.flag, self.overwrite)

    def _target(self, name: str) -> Path:
        if not name or Path(name).name != name or name in (".", ".."):
            raise SpecError(f"{self.flag}: {name!r} is not a file name; give a path ending in a file name")
        return self.path / name

    def check(self, *names: str) -> None:
        """Refuse before any work if one of ``names`` cannot be written here."""
        for name in names:
            target = self._target(name)
            if target.is_symlink():
                raise SpecError(f"{self.flag}: {target} is a symbolic link (to {target.resolve()}); nsr-bench "
                                "never writes through one: remove it or give another folder")
            if target.is_dir():
                raise SpecError(f"{self.flag}: {target} is a folder; give a file name, or remove the folder")
            if target.exists() and not self.overwrite:
                raise self._exists(target)

    def _exists(self, target: Path) -> SpecError:
        return SpecError(f"{self.flag}: {target} already exists; pass --overwrite to replace it "
                         "(or give another output path)")

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """A binary file to write ``name``'s content into; it takes the name only once the block succeeds."""
        self.check(name)
        target = self._target(name)
        tmp = self.path / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
                with os.fdopen(fd, "wb") as f:
                    yield f
                self.check(name)
                self._move(tmp, target)
            except FileExistsError:
                raise self._exists(target) from None
            except OSError as exc:
                raise SpecError(f"{self.flag}: cannot write {target} ({exc.strerror or exc})") from None
        finally:
            tmp.unlink(missing_ok=True)

    def _move(self, tmp: Path, target: Path) -> None:
        """``tmp`` onto ``target``: a rename with --overwrite, else a hard link, which fails if ``target``
        exists (on a file system without hard links, a rename right after the check)."""
        if not self.overwrite:
            try:
                os.link(tmp, target, follow_symlinks=False)
                return
            except FileExistsError:
                raise
            except OSError as exc:
                if exc.errno not in NO_HARD_LINKS:
                    raise
                self.check(target.name)
        os.replace(tmp, target)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``data`` as file ``name``; returns its path."""
        with self.open(name) as f:
            f.write(data)
        return self._target(name)

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) as file ``name``; returns its path."""
        return self.write_bytes(name, text.encode())


def output_file(value: str | Path, flag: str, overwrite: bool = False) -> tuple[OutputFolder, str]:
    """The existing folder and the file name of option ``flag``'s file path ``value``, checked."""
    path = Path(value)
    if path.is_dir() and not path.is_symlink():
        raise SpecError(f"{flag} {value}: is a folder; give a file path")
    if not path.parent.exists():
        raise SpecError(f"{flag} {value}: the folder {path.parent} does not exist; create it or give a path in "
                        "an existing folder")
    folder = OutputFolder(path.parent, flag, overwrite)
    folder.check(path.name)
    return folder, path.name
