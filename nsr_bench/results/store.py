"""The results store: finished cells in a SQL database, written in one transaction each.

``ResultsStore("results")`` opens (or creates) ``results/nsr.db`` (SQLite); a path ending in ``.db``
(or an existing file) is the SQLite file itself; any SQLAlchemy URL (``postgresql://user@host/db``)
names a shared database. A database holding only unrelated tables, or a table of ours in another shape,
is refused, and so is a damaged one, with a message rather than a traceback. A store opened with
``create=False`` (the read commands) must exist. A SQLite store whose file or folder this process cannot
write is opened read-only: it can be read, and a write is a StoreError. Opening a writable store marks the
runs that a dead process of this host left ``running`` as ``abandoned``. A stored summary or manifest that
is not the JSON object of its cell is a StoreError when read. A cell is stored with its manifest,
summary, long accuracy matrix, recovery curves and Bank in a single transaction: a crash leaves
either the whole cell or nothing. A finished cell is never overwritten unless forced.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsr_bench.config import SpecError


class StoreError(SpecError):
    """A results store that cannot be opened or written; the message says what to do."""


def tidy(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, tuples become lists, numpy scalars become Python."""
    if isinstance(obj, dict):
        return {str(k): tidy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [tidy(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
HASH_PREFIX = re.compile(r"[0-9a-f]{1,16}")  # cell hashes are 16 hex digits (CellSpec.hash)
OPTUNA_TABLES = {"studies", "version_info"}  # an Optuna storage may share the database


def store_url(target: str | os.PathLike) -> str:
    """A database URL as is; a SQLite file (``*.db`` or an existing file) as it is; else ``FOLDER/nsr.db``."""
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).resolve()
    return f"sqlite:///{path if path.suffix in SQLITE_SUFFIXES or path.is_file() else path / 'nsr.db'}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ResultsStore:
    """Finished cells (and execution attempts) in a SQL database; ``create=False``: it must exist."""

    def __init__(self, target: str | os.PathLike = "results", create: bool = True):
        from sqlalchemy import create_engine
        from sqlalchemy.exc import DatabaseError, SQLAlchemyError

        from nsr_bench.results import schema

        self.url = store_url(target)
        self.schema = schema
        self.read_only = False
        try:
            if self.url.startswith("sqlite:///"):
                self.engine = self._sqlite_engine(Path(self.url.removeprefix("sqlite:///")), create)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            ours = self._check_tables()
            if not ours and (self.read_only or not create):
                raise _missing(self.url.removeprefix("sqlite:///"))
            if not self.read_only:
                self._create_tables()
            self._check_version()
            if not self.read_only:
                self._mark_abandoned()
        except DatabaseError as exc:
            if _damage(exc):
                raise _damaged(self.url, exc) from None
            raise StoreError(f"cannot open the results store {self.url} ({error_reason(exc)}); pass a writable "
                             "folder or a reachable database URL with --results") from None
        except (SQLAlchemyError, OSError, ImportError) as exc:
            raise StoreError(f"cannot open the results store {self.url} ({error_reason(exc)}); pass a writable "
                             "folder or a reachable database URL with --results") from None

    def _sqlite_engine(self, path: Path, create: bool):
        """The engine of the SQLite file ``path``: read-only (:func:`_read_only_uri`) when this process
        cannot write the file or its folder; a missing file is created only if ``create``."""
        import sqlite3

        from sqlalchemy import create_engine, event, pool

        if not path.is_file() and not create:
            raise _missing(path)
        if path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            self.read_only = True
            uri = _read_only_uri(path)
            return create_engine("sqlite://", poolclass=pool.NullPool,
                                 creator=lambda: sqlite3.connect(uri, uri=True, timeout=120))
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": 120})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def _check_tables(self) -> set[str]:
        """Our tables in the database. Refuse one whose tables are neither ours nor Optuna's (another
        program's data), or where a table of ours lacks columns (another program's table of that name)."""
        from sqlalchemy import inspect

        inspector = inspect(self.engine)
        tables = set(inspector.get_table_names())
        ours = tables & set(self.schema.metadata.tables)
        if tables and not ours | (tables & OPTUNA_TABLES):
            raise StoreError(f"{self.url} is not an nsr-bench results store (it holds other tables: "
                             f"{', '.join(sorted(tables)[:5])}); give a new folder or database with --results")
        for name in sorted(ours):
            found = {column["name"] for column in inspector.get_columns(name)}
            missing = [c for c in self.schema.metadata.tables[name].columns.keys() if c not in found]
            if missing:
                raise StoreError(f"{self.url} is not an nsr-bench results store: its table {name!r} has no "
                                 f"column {', '.join(missing)} (another program's table?); give a new folder "
                                 "or database with --results")
        return ours

    def _mark_abandoned(self) -> None:
        """Mark as ``abandoned`` the runs still ``running`` whose process, on this host, is gone."""
        from sqlalchemy import select, update

        r = self.schema.runs
        with self.engine.begin() as conn:
            rows = conn.execute(select(r.c.id, r.c.worker, r.c.started_at).where(r.c.status == "running")).all()
            dead = [row.id for row in rows if _process_gone(row.worker, row.started_at)]
            if dead:
                conn.execute(update(r).where(r.c.id.in_(dead), r.c.status == "running").values(
                    status="abandoned", finished_at=time.time(), error="the process running it died"))

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        """A connection for reading; a damaged database becomes a StoreError."""
        from sqlalchemy.exc import DatabaseError

        try:
            with self.engine.connect() as conn:
                yield conn
        except DatabaseError as exc:
            if not _damage(exc):
                raise
            raise _damaged(self.url, exc, "read") from None

    def _create_tables(self, attempts: int = 5) -> None:
        """``create_all``, retried: processes that open a new database at once race to create it."""
        from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

        for attempt in range(attempts):
            try:
                self.schema.metadata.create_all(self.engine)
                return
            except (IntegrityError, ProgrammingError, OperationalError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _check_version(self) -> None:
        from sqlalchemy import insert, select

        t = self.schema.meta
        with self.engine.begin() as conn:
            found = conn.execute(select(t.c.value).where(t.c.key == "schema_version")).scalar()
            if found is None and not self.read_only:
                stmt = insert(t).values(key="schema_version", value=str(self.schema.SCHEMA_VERSION))
                conn.execute(stmt.prefix_with("OR IGNORE") if self.engine.dialect.name == "sqlite" else stmt)
            elif found != str(self.schema.SCHEMA_VERSION):
                raise StoreError(f"{self.url} holds results-store schema {found}; this nsr-bench reads "
                                 f"schema {self.schema.SCHEMA_VERSION}: use another --results")

    # ---------------------------------------------------------------- reading
    def done(self, cell_hash: str) -> bool:
        from sqlalchemy import select

        c = self.schema.cells
        with self._connect() as conn:
            return conn.execute(select(c.c.hash).where(c.c.hash == cell_hash)).first() is not None

    def summary(self, cell_hash: str) -> dict:
        from sqlalchemy import select

        c = self.schema.cells
        with self._connect() as conn:
            text = conn.execute(select(c.c.summary).where(c.c.hash == cell_hash)).scalar_one()
        return self._document(cell_hash, "summary", text)

    def summaries(self) -> list[dict]:
        from sqlalchemy import select

        c = self.schema.cells
        with self._connect() as conn:
            rows = conn.execute(select(c.c.hash, c.c.summary).order_by(c.c.finished_at)).all()
        return [self._document(row.hash, "summary", row.summary) for row in rows]

    def table(self, name: str) -> list[dict]:
        """All rows of ``name`` (cells, accuracy, curves, runs) as dicts; the cells' summaries and manifests
        are checked (see :meth:`_document`)."""
        from sqlalchemy import select

        t = self.schema.metadata.tables[name]
        with self._connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(t))]
        return [self._checked(r) for r in rows] if name == "cells" else rows

    def _checked(self, row: dict) -> dict:
        """A ``cells`` row, once its manifest and summary are known to be its cell's JSON objects."""
        for name in ("manifest", "summary"):
            self._document(row["hash"], name, row[name])
        return row

    def _document(self, cell_hash: str, name: str, text: str) -> dict:
        """The stored JSON document ``name`` (spec, summary, manifest) of cell ``cell_hash``; a StoreError if it
        is not valid JSON, not an object, or names another cell."""
        try:
            doc = json.loads(text)
        except (TypeError, ValueError):
            problem = "not valid JSON"
        else:
            if not isinstance(doc, dict):
                problem = f"a JSON {type(doc).__name__}, not an object"
            elif doc.get("hash", cell_hash) != cell_hash:  # the runner's documents name their cell
                problem = f"it names cell {doc.get('hash')!r}"
            else:
                return doc
        raise StoreError(f"the stored {name} of cell {cell_hash} in {self.url} is damaged ({problem}); rerun "
                         "the cell with --force to replace it, or delete it from the store")

    def bank_bytes(self, cell_hash: str) -> bytes | None:
        from sqlalchemy import select

        b = self.schema.banks
        with self._connect() as conn:
            return conn.execute(select(b.c.data).where(b.c.hash == cell_hash)).scalar()

    def cell(self, prefix: str) -> dict:
        """The ``cells`` row whose hash is ``prefix`` or starts with it (hex digits, matched literally); a
        StoreError if none or several."""
        from sqlalchemy import select

        if not HASH_PREFIX.fullmatch(prefix):
            raise StoreError(f"cell hash {prefix!r}: give a cell's hash, or its first characters, in hex digits "
                             "(0-9, a-f); `nsr-bench report --export DIR` lists the hashes (cells.csv)")
        c = self.schema.cells
        with self._connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(c).where(c.c.hash.startswith(prefix)).limit(2))]
        if len(rows) != 1:
            problem = "no finished cell" if not rows else "several cells"
            raise StoreError(f"{problem} with hash {prefix!r} in {self.url}; `nsr-bench report --export DIR` "
                             "lists the hashes (cells.csv)")
        return self._checked(rows[0])

    def rows(self, name: str, cell_hash: str) -> list[dict]:
        """The rows of table ``name`` (accuracy, curves, runs) of one cell, in insertion order."""
        from sqlalchemy import select

        t = self.schema.metadata.tables[name]
        query = select(t).where(t.c.hash == cell_hash).order_by(t.c.id)
        with self._connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def claims(self) -> list[dict]:
        """The stored verdicts (see :meth:`write_claims`), in the order they were judged."""
        from sqlalchemy import select

        t = self.schema.claims
        with self._connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]

    def identities(self) -> list[dict]:
        """Hash, scenario, strategy, seed and parsed spec of every stored cell, oldest first (what
        :func:`nsr_bench.identity.stale_cells` judges)."""
        from sqlalchemy import select

        c = self.schema.cells
        with self._connect() as conn:
            rows = conn.execute(select(c.c.hash, c.c.scenario, c.c.strategy, c.c.seed, c.c.spec)
                                .order_by(c.c.finished_at)).all()
        return [{"hash": r.hash, "scenario": r.scenario, "strategy": r.strategy, "seed": r.seed,
                 "spec": self._document(r.hash, "spec", r.spec)} for r in rows]

    def without(self, hidden: set[str]) -> StoreView:
        """A read-only view of this store without the cells ``hidden``."""
        return StoreView(self, hidden)

    # ---------------------------------------------------------------- writing
    def write_claims(self, protocol: str, verdicts: list[dict], code: str) -> None:
        """Store ``verdicts`` (dicts with the ``claims`` table's columns, ``ci`` as [low, high]; an unbounded
        interval or infinite ratio stays infinite, NaN becomes NULL) in one transaction, replacing earlier
        verdicts of the same protocol, claim, scenario and recurrence."""
        from sqlalchemy import and_, delete, insert

        t, now = self.schema.claims, time.time()
        keys = ("claim", "scenario", "recurrence", "n", "comparison", "verdict", "reason")
        def number(x):
            return None if x is None or math.isnan(x) else float(x)

        rows = [{"protocol": protocol, **{k: v[k] for k in keys}, "paper": str(v["paper"]),
                 "measured": number(v["measured"]), "low": number(v["ci"][0]), "high": number(v["ci"][1]),
                 "code": code, "judged_at": now} for v in verdicts]
        with self._writing("the claims verdicts"), self.engine.begin() as conn:
            for r in rows:
                same = and_(t.c.protocol == protocol, t.c.claim == r["claim"], t.c.scenario == r["scenario"],
                            t.c.recurrence == r["recurrence"])
                conn.execute(delete(t).where(same))
            if rows:
                conn.execute(insert(t), rows)

    def start_run(self, cell_hash: str) -> int:
        """Record that this process starts executing ``cell_hash``; returns the run id."""
        from sqlalchemy import insert

        with self._writing(f"the start of cell {cell_hash}"), self.engine.begin() as conn:
            result = conn.execute(insert(self.schema.runs).values(
                hash=cell_hash, worker=worker_name(), started_at=time.time(), status="running"))
            return int(result.inserted_primary_key[0])

    def fail_run(self, run_id: int, error: str, status: str = "failed") -> None:
        from sqlalchemy import update

        r = self.schema.runs
        with self._writing(f"run {run_id}'s failure"), self.engine.begin() as conn:
            conn.execute(update(r).where(r.c.id == run_id).values(
                status=status, finished_at=time.time(), error=error[-4000:]))

    def purge(self, hashes: list[str]) -> None:
        """Delete the cells ``hashes`` (with their matrices, curves and Banks) in one transaction."""
        from sqlalchemy import delete

        s = self.schema
        with self._writing(f"the deletion of {len(hashes)} cells"), self.engine.begin() as conn:
            for t in (s.accuracy, s.curves, s.banks, s.cells):
                conn.execute(delete(t).where(t.c.hash.in_(hashes)))

    def write(self, cell, documents: dict[str, Any], matrix_rows: list[dict], curve_rows: list[dict],
              bank_bytes: bytes | None, run_id: int | None = None, force: bool = False) -> bool:
        """Store a finished cell in one transaction; False if it was already there (not forced).

        A database that cannot take the write raises :class:`StoreError` (see :meth:`_writing`).
        """
        from sqlalchemy import update
        from sqlalchemy.exc import IntegrityError

        with self._writing(f"cell {cell.hash}"):
            try:
                return self._write(cell, documents, matrix_rows, curve_rows, bank_bytes, run_id, force)
            except IntegrityError:
                if not self.done(cell.hash):
                    raise
                # another process stored the same cell between our check and our insert
                if run_id is not None:
                    with self.engine.begin() as conn:
                        conn.execute(update(self.schema.runs).where(self.schema.runs.c.id == run_id)
                                     .values(status="duplicate", finished_at=time.time()))
                return False

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """Turn a database that cannot take a write (full disk, read-only, lost server) into a StoreError;
        the transaction is rolled back, so earlier cells are untouched."""
        from sqlalchemy.exc import DatabaseError, OperationalError

        if self.read_only:
            raise StoreError(f"cannot write {what} to {self.url}: it is opened as a readonly database (this "
                             "process cannot write its file or folder); make it writable or choose a writable "
                             "--results, then rerun: finished cells are kept")
        try:
            yield
        except DatabaseError as exc:
            if _damage(exc):
                raise _damaged(self.url, exc, "write to") from None
            if not isinstance(exc, OperationalError):
                raise
            raise StoreError(f"cannot write {what} to {self.url} ({error_reason(exc)}); free disk space or choose "
                             "a writable --results, then rerun: finished cells are kept") from None
        except OSError as exc:
            raise StoreError(f"cannot write {what} to {self.url} ({error_reason(exc)}); free disk space or choose "
                             "a writable --results, then rerun: finished cells are kept") from None

    def _stored(self, conn, cell_hash: str) -> bool:
        from sqlalchemy import select

        c = self.schema.cells
        return conn.execute(select(c.c.hash).where(c.c.hash == cell_hash)).first() is not None

    def _write(self, cell, documents, matrix_rows, curve_rows, bank_bytes, run_id, force) -> bool:
        from sqlalchemy import delete, insert, update

        s = self.schema
        now = time.time()
        with self.engine.begin() as conn:
            exists = self._stored(conn, cell.hash)
            if exists and not force:
                status = "duplicate"
            else:
                if exists:
                    for t in (s.accuracy, s.curves, s.banks, s.cells):
                        conn.execute(delete(t).where(t.c.hash == cell.hash))
                conn.execute(insert(s.cells).values(
                    hash=cell.hash, scenario=cell.scenario, strategy=cell.strategy, seed=cell.seed,
                    spec=json.dumps(cell.model_dump(mode="json"), sort_keys=True),
                    manifest=json.dumps(tidy(documents["manifest"]), sort_keys=True),
                    summary=json.dumps(tidy(documents["summary"]), sort_keys=True), finished_at=now))
                if matrix_rows:
                    conn.execute(insert(s.accuracy), [{"hash": cell.hash, **tidy(r)} for r in matrix_rows])
                if curve_rows:
                    conn.execute(insert(s.curves), [{"hash": cell.hash, **r} for r in curve_rows])
                if bank_bytes is not None:
                    conn.execute(insert(s.banks).values(hash=cell.hash, data=bank_bytes))
                status = "done"
            if run_id is not None:
                conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(status=status, finished_at=now))
        return status == "done"


class StoreView:
    """A read-only view of a results store without some cells (``table`` and ``url`` only: what
    tables, exports, reports and figures read)."""

    def __init__(self, store: ResultsStore, hidden: set[str]):
        self.store, self.hidden, self.url = store, hidden, store.url

    def table(self, name: str) -> list[dict]:
        return [r for r in self.store.table(name) if r["hash"] not in self.hidden]


def _read_only_uri(path: Path) -> str:
    """A read-only SQLite URI of ``path``. In a folder it cannot write (where the -wal and -shm files of WAL
    mode cannot be created) and with no -wal file left, the file is opened immutable: nothing can change it."""
    writable_folder = os.access(path.parent, os.W_OK)
    return path.as_uri() + ("?mode=ro" if writable_folder or Path(f"{path}-wal").exists() else "?immutable=1")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=120000")
    cursor.close()


def _damage(exc: BaseException) -> bool:
    """A plain DBAPI DatabaseError (SQLite: 'file is not a database', 'disk image is malformed'), not one of
    its specific kinds (integrity, operational, programming errors)."""
    from sqlalchemy.exc import DatabaseError

    return type(exc) is DatabaseError


def _missing(where: str | Path) -> StoreError:
    return StoreError(f"no results store at {where}; run cells first or give --results")


def _damaged(url: str, exc: BaseException, doing: str = "open") -> StoreError:
    return StoreError(f"cannot {doing} the results store {url}: it is damaged or not a database "
                      f"({error_reason(exc)}); restore it from a backup or give another --results")


def _process_gone(worker: str, since: float) -> bool:
    """Whether the process ``worker`` (``host:pid``, see :func:`worker_name`) that started a run at
    ``since`` has ended. Only this host's processes can be checked: no such pid, a zombie, or (Linux)
    a younger process that reuses the pid. Anything uncertain counts as alive."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        btime = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        started = float(btime.split()[1]) + int(stat[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, IndexError, ValueError):
        return False
    return stat[0] == "Z" or started > since + 2


def error_reason(exc: BaseException) -> str:
    """The first line of a database error's own message (the driver's, where SQLAlchemy wraps one)."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
