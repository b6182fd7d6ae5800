"""A cell's identity: everything besides its spec that determines its numbers, so that a stored cell
is reused only where a fresh computation would give the same numbers.

The cell hash covers the resolved spec and a :class:`~nsr_bench.config.CellIdentity`, the cell's key recipe in
:mod:`nsr_bench.memo`'s terms: the code it runs (:func:`cell_code`: the source of :mod:`nsr_bench.execution`
and of the cell's strategy and scenario modules, with what they import), the versions of the numeric libraries
that code imports, the device's name, the torch thread count the cell runs with (:func:`torch_threads` makes
the runner honour it), the SHA-256 of a weights file named in the scenario parameters (or of the published
weights its backbone loads) and of the files the strategy reads (a learned policy), and a fingerprint of the
data files the cell's sources read. File digests are cached in ``$NSR_CACHE_DIR/file_digests.json`` by (path,
size, mtime_ns), so resolving a cell again only stats its files. Stored cells computed by other code or
libraries are *stale* (:func:`stale_cells`); tables and figures leave them out.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsr_bench import memo
from nsr_bench.config import CellIdentity, CellSpec, SpecError

RACY_SECONDS = 2.0  # a file modified this recently may change again within one mtime tick: not cached
_digest_caches: dict[Path, dict[str, list]] = {}


class IdentityError(SpecError):
    """A cell whose identity does not match the code, data or machine about to run it."""


EXECUTION = "nsr_bench.execution"


def cell_code(impl: str, builder: str) -> str:
    """Digest of the code a cell with strategy ``impl`` and scenario ``builder`` (``module[:attr]``) runs:
    :mod:`nsr_bench.execution` and the two modules, with everything they import from their packages."""
    return memo.code_digest(*cell_modules(impl, builder))


def cell_modules(impl: str, builder: str) -> tuple[str, ...]:
    """The modules whose code a cell runs: execution, and its method's and scenario's (entry-point names
    resolved to the modules they register)."""
    from nsr_bench.registry import trusted

    return EXECUTION, *(trusted(t, "implementation").partition(":")[0] for t in (impl, builder))


def _cache_path() -> Path:
    from nsr_bench.cache import cache_dir

    return cache_dir() / "file_digests.json"


def _read_cache(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def file_digests(paths: list[Path]) -> list[str | None]:
    """SHA-256 of each file (None where it does not exist), cached by (path, size, mtime_ns)."""
    cache_path = _cache_path()
    cache = _digest_caches.setdefault(cache_path, _read_cache(cache_path))
    out, changed = [], False
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            out.append(None)
            continue
        key, stamp = str(path.resolve()), [st.st_size, st.st_mtime_ns]
        hit = cache.get(key)
        if hit is not None and hit[:2] == stamp:
            out.append(hit[2])
            continue
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out.append(h.hexdigest())
        if time.time() - st.st_mtime_ns / 1e9 > RACY_SECONDS:
            cache[key] = [*stamp, out[-1]]
            changed = True
    if changed:
        _write_cache(cache_path, cache)
    return out


def _write_cache(path: Path, cache: dict[str, list]) -> None:
    """Merge ``cache`` into the file (other processes may have added entries); atomic, best effort."""
    from nsr_bench.cache import save_json_atomic

    cache.update({k: v for k, v in _read_cache(path).items() if k not in cache})
    try:
        save_json_atomic(cache, path)
    except OSError:  # a read-only cache only costs re-hashing next time
        pass


def data_fingerprint(sources: list[str]) -> dict[str, str]:
    """Source -> digest of the (relative name, SHA-256) of every file its loader reads; independent
    of where the data root lies, so a copy of the same data gives the same cells."""
    from nsr_bench.scenarios.sources import data_root, source_files

    out = {}
    for name in sorted(set(sources)):
        files = source_files(name, data_root())
        digests = file_digests(list(files.values()))
        listing = "".join(f"{rel}\0{d or 'missing'}\n" for rel, d in zip(files, digests, strict=True))
        out[name] = hashlib.sha256(listing.encode()).hexdigest()[:16]
    return out


def weights_digest(params: dict[str, Any], builder: str | None = None) -> str | None:
    """SHA-256 of the weights file a cell's backbone loads: the ``weights`` file named in scenario ``params``,
    else the published one the builder's module names (its ``weights_file(params)``, e.g. EfficientNet-Lite0's);
    None without either."""
    path = params.get("weights") or published_weights(builder, params)
    if not path:
        return None
    (digest,) = file_digests([Path(path)])
    if digest is None:
        raise SpecError(f"backbone weights {path}: no such file")
    return digest


def published_weights(builder: str | None, params: dict[str, Any]) -> Path | None:
    """The published weights file the scenario ``builder`` (``module:attr``) loads with ``params``, if its
    module says (``weights_file(params)``)."""
    import inspect

    from nsr_bench.registry import resolve

    hook = getattr(inspect.getmodule(resolve(builder)), "weights_file", None) if builder else None
    try:
        return hook(params) if hook else None
    except ValueError as exc:  # an unknown backbone
        raise SpecError(f"scenario parameters: {exc}") from None


def cell_identity(code: tuple[str, str], params: dict[str, Any], sources: list[str], device: str,
                  threads: int | None = None, files: list[Path] = ()) -> CellIdentity:
    """The identity of a cell with strategy and scenario modules ``code`` (``(impl, builder)``), scenario
    ``params``, reading ``sources`` and the strategy's input ``files`` on ``device`` with ``threads``
    torch threads (default: this process's ``torch.get_num_threads()``)."""
    import torch

    threads = threads or torch.get_num_threads()
    env = memo.environment(cell_modules(*code), device, threads)
    digests = file_digests(list(files))
    missing = [str(f) for f, d in zip(files, digests, strict=True) if d is None]
    if missing:
        raise SpecError(f"the strategy reads {', '.join(missing)}: no such file")
    return CellIdentity(code=cell_code(*code), libraries=env["libraries"], weights=weights_digest(params, code[1]),
                        data=data_fingerprint(sources), device_name=env["device"], threads=threads,
                        files=digests)


def check_identity(cell: CellSpec) -> None:
    """Raise :class:`IdentityError` unless this process's code, libraries, weights, data and device match
    the cell's identity (a cell queued elsewhere, or code or data changed since it was resolved)."""
    from nsr_bench.registry import resolve

    files = input_files(resolve(cell.impl), cell.strategy_params)
    here = cell_identity((cell.impl, cell.builder), cell.scenario_params, _sources(cell), cell.device,
                         cell.identity.threads, files)
    differ = [k for k, v in here.model_dump().items() if v != getattr(cell.identity, k)]
    if differ:
        raise IdentityError(f"cell {cell.hash} was resolved with other {', '.join(differ)} than this process "
                            "has; resolve it again here (its hash would change)")


def input_files(impl, strategy_params: dict[str, Any]) -> list[Path]:
    """The files a method module reads with ``strategy_params`` (its ``input_files``, if it has one)."""
    return [Path(f) for f in getattr(impl, "input_files", lambda _: [])(strategy_params)]


def _sources(cell: CellSpec) -> list[str]:
    from nsr_bench.registry import lookup

    return lookup("scenarios", cell.scenario).sources(cell.scenario_params)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run with ``threads`` torch threads, restoring the previous count afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------ stale cells in a results store
def stale_cells(store) -> list[dict]:
    """Stored cells computed by other code or numeric libraries than this process would run them with
    (or with no identity: older stores), as dicts of hash, scenario, strategy, seed and code (its code
    digest; None without one). The store answers the query (``ResultsStore.identities``)."""
    current: dict[tuple[str, str], tuple[str, dict] | None] = {}
    out = []
    for row in store.identities():
        spec = row["spec"]
        identity = spec.get("identity") or {}
        key = (spec.get("impl", ""), spec.get("builder", ""))
        if key not in current:
            current[key] = _current(*key)
        if current[key] is None or (identity.get("code"), identity.get("libraries")) != current[key]:
            out.append({"hash": row["hash"], "scenario": row["scenario"], "strategy": row["strategy"],
                        "seed": row["seed"], "code": identity.get("code")})
    return out


def _current(impl: str, builder: str) -> tuple[str, dict] | None:
    """(code digest, library versions) a cell of ``impl`` and ``builder`` gets here (None: code not found here)."""
    try:
        modules = cell_modules(impl, builder)
        return memo.code_digest(*modules), memo.library_versions(*modules)
    except (OSError, SyntaxError, ValueError, ImportError):  # SpecError: code no longer trusted here
        return None


def current_view(store, include_stale: bool = False) -> tuple[Any, int]:
    """``store`` without its stale cells (unless ``include_stale``), and how many were left out."""
    if include_stale:
        return store, 0
    hidden = {c["hash"] for c in stale_cells(store)}
    return (store.without(hidden) if hidden else store), len(hidden)
