"""The results store: finished cells in a SQL database, written in one transaction each.

``ResultsStore("results")`` opens (or creates) ``results/nsr.db`` (SQLite); any SQLAlchemy URL
(``postgresql://user@host/db``) names a shared database. A cell is stored with its manifest,
summary, long accuracy matrix, recovery curves and Bank in a single transaction: a crash leaves
either the whole cell or nothing. A finished cell is never overwritten unless forced.
"""

from __future__ import annotations

import json
import math
import os
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


def store_url(target: str | os.PathLike) -> str:
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text).resolve() / 'nsr.db'}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ResultsStore:
    """Finished cells (and execution attempts) in a SQL database."""

    def __init__(self, target: str | os.PathLike = "results"):
        from sqlalchemy import create_engine, event
        from sqlalchemy.exc import SQLAlchemyError

        from nsr_bench.results import schema

        self.url = store_url(target)
        self.schema = schema
        try:
            if self.url.startswith("sqlite:///"):
                Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                self.engine = create_engine(self.url, connect_args={"timeout": 120})
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            self._create_tables()
            self._check_version()
        except (SQLAlchemyError, OSError, ImportError) as exc:
            raise StoreError(f"cannot open the results store {self.url} ({_reason(exc)}); pass a writable "
                             "folder or a reachable database URL with --results") from None

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
            if found is None:
                stmt = insert(t).values(key="schema_version", value=str(self.schema.SCHEMA_VERSION))
                conn.execute(stmt.prefix_with("OR IGNORE") if self.engine.dialect.name == "sqlite" else stmt)
            elif found != str(self.schema.SCHEMA_VERSION):
                raise StoreError(f"{self.url} holds results-store schema {found}; this nsr-bench reads "
                                 f"schema {self.schema.SCHEMA_VERSION}: use another --results")

    # ---------------------------------------------------------------- reading
    def done(self, cell_hash: str) -> bool:
        from sqlalchemy import select

        c = self.schema.cells
        with self.engine.connect() as conn:
            return conn.execute(select(c.c.hash).where(c.c.hash == cell_hash)).first() is not None

    def summary(self, cell_hash: str) -> dict:
        from sqlalchemy import select

        c = self.schema.cells
        with self.engine.connect() as conn:
            return json.loads(conn.execute(select(c.c.summary).where(c.c.hash == cell_hash)).scalar_one())

    def summaries(self) -> list[dict]:
        from sqlalchemy import select

        c = self.schema.cells
        with self.engine.connect() as conn:
            return [json.loads(s) for s in conn.execute(select(c.c.summary).order_by(c.c.finished_at)).scalars()]

    def table(self, name: str) -> list[dict]:
        """All rows of ``name`` (cells, accuracy, curves, runs) as dicts."""
        from sqlalchemy import select

        t = self.schema.metadata.tables[name]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t))]

    def bank_bytes(self, cell_hash: str) -> bytes | None:
        from sqlalchemy import select

        b = self.schema.banks
        with self.engine.connect() as conn:
            return conn.execute(select(b.c.data).where(b.c.hash == cell_hash)).scalar()

    # ---------------------------------------------------------------- writing
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
        from sqlalchemy.exc import OperationalError

        try:
            yield
        except (OperationalError, OSError) as exc:
            raise StoreError(f"cannot write {what} to {self.url} ({_reason(exc)}); free disk space or choose "
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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=120000")
    cursor.close()


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
