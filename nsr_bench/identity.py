"""A cell's identity: everything besides its spec that determines its numbers, so that a stored cell
is reused only where a fresh computation would give the same numbers.

The cell hash covers the resolved spec and a :class:`~nsr_bench.config.CellIdentity`: a digest of
the package's source files (computed once per process), the SHA-256 of a weights file named in the
scenario parameters, a fingerprint of the data files the cell's sources read, the SHA-256 of a
learned rule's policy file (strategy parameter ``policy``), the device type and the torch thread
count the cell runs with (:func:`torch_threads` makes the runner honour it). File
digests are cached in ``$NSR_CACHE_DIR/file_digests.json`` by (path, size, mtime_ns), so resolving
a cell again only stats its files. Stored cells computed by other code are *stale*:
:func:`current_view` leaves them out of tables and figures, :func:`purge` deletes them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsr_bench.config import CellIdentity, CellSpec, SpecError

PACKAGE = Path(__file__).resolve().parent
RACY_SECONDS = 2.0  # a file modified this recently may change again within one mtime tick: not cached
_digest_caches: dict[Path, dict[str, list]] = {}


class IdentityError(SpecError):
    """A cell whose identity does not match the code, data or machine about to run it."""


@functools.cache
def source_digest() -> str:
    """Digest of every ``nsr_bench/**/*.py`` file (relative path and content), once per process."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.cache
def device_type(device: str) -> str:
    """``cpu:<architecture>``, or the CUDA device's name."""
    if device.startswith("cuda"):
        import torch

        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu:{platform.machine()}"


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


def weights_digest(params: dict[str, Any]) -> str | None:
    """SHA-256 of the ``weights`` file named in scenario ``params`` (None without one)."""
    if not params.get("weights"):
        return None
    (digest,) = file_digests([Path(params["weights"])])
    if digest is None:
        raise SpecError(f"backbone weights {params['weights']}: no such file")
    return digest


def policy_digest(strategy_params: dict[str, Any]) -> str | None:
    """SHA-256 of the policy file named by ``strategy_params['policy']`` (a learned rule's; None without one)."""
    if not strategy_params.get("policy"):
        return None
    from nsr_bench.rl.policy import policy_path

    (digest,) = file_digests([policy_path(strategy_params["policy"])])
    return digest


def cell_identity(params: dict[str, Any], sources: list[str], device: str, threads: int | None = None,
                  strategy_params: dict[str, Any] | None = None) -> CellIdentity:
    """The identity of a cell with scenario ``params`` reading ``sources`` on ``device`` with
    ``threads`` torch threads (default: this process's ``torch.get_num_threads()``) and strategy
    ``strategy_params`` (whose policy file, if any, is digested)."""
    import torch

    return CellIdentity(code=source_digest(), weights=weights_digest(params), data=data_fingerprint(sources),
                        device_type=device_type(device), threads=threads or torch.get_num_threads(),
                        policy=policy_digest(strategy_params or {}))


def check_identity(cell: CellSpec) -> None:
    """Raise :class:`IdentityError` unless this process's code, weights, data and device match the
    cell's identity (a cell queued elsewhere, or code or data changed since it was resolved)."""
    here = cell_identity(cell.scenario_params, _sources(cell), cell.device, cell.identity.threads,
                         cell.strategy_params)
    differ = [k for k, v in here.model_dump().items() if v != getattr(cell.identity, k)]
    if differ:
        raise IdentityError(f"cell {cell.hash} was resolved with other {', '.join(differ)} than this process "
                            "has; resolve it again here (its hash would change)")


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
    """Stored cells computed by other code (another source digest, or no identity: older stores),
    as dicts of hash, scenario, strategy, seed and code (its source digest; None without identity)."""
    from sqlalchemy import select

    c = store.schema.cells
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.c.hash, c.c.scenario, c.c.strategy, c.c.seed, c.c.spec)
                            .order_by(c.c.finished_at)).all()
    current = source_digest()
    out = []
    for row in rows:
        code = (json.loads(row.spec).get("identity") or {}).get("code")
        if code != current:
            out.append({"hash": row.hash, "scenario": row.scenario, "strategy": row.strategy,
                        "seed": row.seed, "code": code})
    return out


def purge(store, hashes: list[str]) -> None:
    """Delete the cells ``hashes`` (with their matrices, curves and Banks) in one transaction."""
    from sqlalchemy import delete

    s = store.schema
    with store.engine.begin() as conn:
        for t in (s.accuracy, s.curves, s.banks, s.cells):
            conn.execute(delete(t).where(t.c.hash.in_(hashes)))


class CurrentView:
    """A read-only view of a results store without some cells (``table`` and ``url`` only: what
    tables, exports, reports and figures read)."""

    def __init__(self, store, hidden: set[str]):
        self.store, self.hidden, self.url = store, hidden, store.url

    def table(self, name: str) -> list[dict]:
        return [r for r in self.store.table(name) if r["hash"] not in self.hidden]


def current_view(store, include_stale: bool = False) -> tuple[Any, int]:
    """``store`` without its stale cells (unless ``include_stale``), and how many were left out."""
    if include_stale:
        return store, 0
    hidden = {c["hash"] for c in stale_cells(store)}
    return (CurrentView(store, hidden) if hidden else store), len(hidden)
