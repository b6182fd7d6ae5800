"""One memoiser for everything a cell computes: prepared data, backbones, prefix features, targets.

Every derived artifact has one key recipe (:class:`Recipe`): the spec it is computed from, the
environment it is computed in (:func:`environment`: the versions of the numeric libraries its code
imports, the device's name, the CPU thread count) and a code version scoped to what it runs
(:func:`code_digest`: the source of the modules its entry points import, followed transitively), so
that editing a figure changes no key and editing pre-training changes the backbones' keys and the
cells'. The cell itself takes the same recipe as its identity (:mod:`nsr_bench.identity`).

:func:`memoised` writes an artifact (a file or a folder) with a record of its SHA-256 beside it, and
verifies the first read of it in every process against that record: a file changed or damaged since
it was written is recomputed, with one line on stderr saying so. Artifacts are written
deterministically, so identical content gives identical bytes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar

from nsr_bench.cache import cache_dir, locked, save_json_atomic

T = TypeVar("T")
NUMERIC_LIBRARIES = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "scipy": "scipy",
                     "avalanche": "avalanche-lib", "sklearn": "scikit-learn", "PIL": "pillow",
                     "safetensors": "safetensors"}
"""Import name -> distribution of the libraries whose version can change an artifact's numbers."""


# ------------------------------------------------------------------ code versions
@functools.cache
def _package_dirs(top: str) -> tuple[Path, ...]:
    """The folders of the top-level package ``top`` (empty for a plain module or a missing package)."""
    spec = find_spec(top)
    return tuple(Path(p) for p in (spec.submodule_search_locations or [])) if spec else ()


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` inside its top-level package, without importing it."""
    top, _, rest = name.partition(".")
    for base in _package_dirs(top):
        stem = base.joinpath(*rest.split(".")) if rest else base
        for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
            if candidate.is_file():
                return candidate
    if not rest:  # a single-file top-level module (an add-on)
        spec = find_spec(top)
        if spec and spec.origin and spec.origin.endswith(".py"):
            return Path(spec.origin)
    return None


def _imported(name: str, path: Path) -> set[str]:
    """Every module name ``path`` (module ``name``) imports, function-local imports included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up level-1 packages from this module's package
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], *filter(None, [node.module])])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


@functools.cache
def _closure(entry: tuple[str, ...]) -> tuple[dict[str, Path], frozenset[str]]:
    """The modules of the entry points' own packages that they import transitively (with their parent
    packages' ``__init__``), and the top-level names of every other module imported on the way."""
    roots = {"nsr_bench", *(e.partition(".")[0] for e in entry)}
    found: dict[str, Path] = {}
    external: set[str] = set()
    todo = list(entry)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        top = name.partition(".")[0]
        if top not in roots:
            external.add(top)
            continue
        path = _module_file(name)
        if path is None:  # ``from package import attribute``: the attribute is not a module
            continue
        found[name] = path
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [*parents, *_imported(name, path)]
    return found, frozenset(external)


def code_digest(*entry: str) -> str:
    """Digest of the source of the modules ``entry`` (module names) import, followed transitively
    through their own packages (see :func:`modules`); computed once per process."""
    return _digest(tuple(sorted(set(entry))))


@functools.cache
def _digest(entry: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name, path in sorted(_closure(entry)[0].items()):
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def modules(*entry: str) -> list[str]:
    """The module names whose source :func:`code_digest` covers for ``entry``, sorted."""
    return sorted(_closure(tuple(sorted(set(entry))))[0])


# ------------------------------------------------------------------ environment
@functools.cache
def device_name(device: str) -> str:
    """``cpu:<architecture>:<vector instruction set>`` (their kernels round differently), or ``cuda:<name>``."""
    import torch

    if device.startswith("cuda"):
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu:{platform.machine()}:{torch.backends.cpu.get_cpu_capability()}"


def library_versions(*entry: str) -> dict[str, str]:
    """Version of each numeric library (:data:`NUMERIC_LIBRARIES`) that the modules ``entry`` import."""
    return {name: _installed(NUMERIC_LIBRARIES[name])
            for name in sorted(_closure(tuple(sorted(set(entry))))[1] & set(NUMERIC_LIBRARIES))}


@functools.cache
def _installed(distribution: str) -> str:
    """The installed version of ``distribution`` (read once per process)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def environment(entry: tuple[str, ...], device: str | None, threads: int | None = None) -> dict[str, Any]:
    """What of the machine changes the numbers of code ``entry`` run on ``device``: its numeric libraries'
    versions, the device's name and, on the CPU, the torch thread count (reductions split by thread;
    default this process's count). ``device`` None: code whose output no arithmetic device changes
    (decoding files), keyed by its libraries only."""
    env: dict[str, Any] = {"libraries": library_versions(*entry)}
    if device is None:
        return env
    import torch

    env["device"] = device_name(device)
    if torch.device(device).type == "cpu":
        env["threads"] = threads or torch.get_num_threads()
    return env


# ------------------------------------------------------------------ recipes and memoisation
@dataclass(frozen=True)
class Recipe:
    """The key recipe of one artifact: ``kind`` (its cache folder), a readable ``name`` prefix, the ``spec``
    it is computed from, and the code and environment that compute it (see :func:`recipe`)."""

    kind: str
    name: str
    spec: dict[str, Any]
    code: str
    env: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec, "code": self.code, "env": self.env}

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:24]

    @property
    def path(self) -> Path:
        return cache_dir() / self.kind / f"{self.name}-{self.key}"


def recipe(kind: str, name: str, spec: dict[str, Any], entry: tuple[str, ...], device: str | None = "cpu",
           threads: int | None = None) -> Recipe:
    """The recipe of an artifact computed from ``spec`` by the modules ``entry`` on ``device`` (see
    :func:`environment`)."""
    return Recipe(kind, name, spec, code_digest(*entry), environment(entry, device, threads))


def tensor_digest(*tensors: Any) -> str:
    """SHA-256 of tensors' shapes, dtypes and bytes, in order; a ``dict`` (a state dict) by sorted name."""
    h = hashlib.sha256()
    for t in tensors:
        items = sorted(t.items()) if isinstance(t, dict) else [("", t)]
        for name, value in items:
            value = value.detach().cpu().contiguous()
            h.update(f"{name}\0{tuple(value.shape)}\0{value.dtype}\0".encode())
            h.update(value.numpy().tobytes())
    return h.hexdigest()


def content_digest(path: Path) -> str:
    """SHA-256 of a file, or of a folder's (relative path, file SHA-256) listing."""
    if path.is_dir():
        listing = "".join(f"{p.relative_to(path).as_posix()}\0{content_digest(p)}\n"
                          for p in sorted(path.rglob("*")) if p.is_file())
        return hashlib.sha256(listing.encode()).hexdigest()
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".digest.json")


_verified: set[tuple[str, str]] = set()  # (artifact, recorded digest) this process has checked


def _problem(path: Path) -> str | None:
    """Why the artifact at ``path`` cannot be trusted (None: it matches the digest recorded when written).
    An artifact is hashed on its first read in a process (a prepared folder of 17k images takes 2 s)."""
    try:
        record = json.loads(_record_path(path).read_text())
    except (OSError, ValueError):
        return "has no readable record of its digest"
    recorded = record.get("sha256") if isinstance(record, dict) else None
    if (str(path), str(recorded)) in _verified:
        return None
    if recorded != content_digest(path):
        return "does not match the digest recorded when it was written"
    _verified.add((str(path), recorded))
    return None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def say(message: str) -> None:
    """One line on stderr (a recomputed cache entry)."""
    print(f"nsr-bench: {message}", file=sys.stderr, flush=True)


def memoised(rec: Recipe, produce: Callable[[], T], write: Callable[[T, Path], None],
             read: Callable[[Path], T], suffix: str = "") -> tuple[T, bool]:
    """``read`` of the artifact of ``rec`` when its cached copy verifies, else ``produce()`` written by
    ``write(value, path)`` (a file or a folder) and recorded; returns (value, whether it came from the cache).

    One process fills an entry while the others wait for it (a file lock); a copy that does not verify
    or cannot be read is recomputed and replaced, saying so.
    """
    path = rec.path.with_name(rec.path.name + suffix)
    with locked(path):
        if path.exists():
            problem = _problem(path)
            if problem is None:
                try:
                    return read(path), True
                except Exception as exc:  # a verified file that still fails: recompute, never reuse
                    problem = f"cannot be read ({type(exc).__name__}: {exc})"
            say(f"cache entry {path} {problem}; recomputing it")
            _remove(path)
        value = produce()
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        _remove(tmp)
        try:
            write(value, tmp)
            digest = content_digest(tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                _remove(tmp)
        save_json_atomic({"sha256": digest, "recipe": rec.as_dict()}, _record_path(path))
    return value, False


def write_tensors(tensors: dict[str, Any], path: Path) -> None:
    """A safetensors file without metadata: the same tensors always give the same bytes."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))


def read_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path))

