"""Tables of the results store (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

``cells`` holds one row per finished cell (spec, manifest and summary as JSON text); the accuracy
matrix and the recovery curves are long tables keyed by the cell hash; ``banks`` holds a cell's
saved Bank (safetensors bytes); ``runs`` records every execution attempt, so "ran exactly once"
can be checked; ``claims`` holds the latest verdict of every (protocol, claim, scenario, recurrence)
that ``nsr-bench claims`` judged.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, LargeBinary, MetaData, String, Table, Text

SCHEMA_VERSION = 1
metadata = MetaData()

cells = Table(
    "cells", metadata,
    Column("hash", String(32), primary_key=True),
    Column("scenario", String(128), nullable=False, index=True),
    Column("strategy", String(128), nullable=False, index=True),
    Column("seed", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Column("manifest", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("finished_at", Float, nullable=False),
)

accuracy = Table(
    "accuracy", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hash", String(32), ForeignKey("cells.hash", ondelete="CASCADE"), nullable=False, index=True),
    Column("mode", String(16), nullable=False),
    Column("experience", Integer, nullable=False),
    Column("task", Integer, nullable=False),
    Column("acc", Float),
)

curves = Table(
    "curves", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hash", String(32), ForeignKey("cells.hash", ondelete="CASCADE"), nullable=False, index=True),
    Column("experience", Integer, nullable=False),
    Column("task", Integer, nullable=False),
    Column("recurrence", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("acc", Float, nullable=False),
)

banks = Table(
    "banks", metadata,
    Column("hash", String(32), ForeignKey("cells.hash", ondelete="CASCADE"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hash", String(32), nullable=False, index=True),
    Column("worker", String(128), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("status", String(16), nullable=False),
    Column("error", Text),
)

claims = Table(
    "claims", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("protocol", String(64), nullable=False),
    Column("claim", String(128), nullable=False, index=True),
    Column("scenario", String(128), nullable=False),
    Column("recurrence", String(32), nullable=False),
    Column("paper", Text, nullable=False),
    Column("measured", Float),
    Column("low", Float),
    Column("high", Float),
    Column("n", Integer, nullable=False),
    Column("comparison", Text, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("code", String(64), nullable=False),
    Column("judged_at", Float, nullable=False),
)

meta = Table(
    "nsr_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
