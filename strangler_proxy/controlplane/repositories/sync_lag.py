"""Reads of the sync database's ``sync_lag`` table (kept current by the sync relays).

The control plane does not import ``acl``: this module declares the columns it reads. A database or
table that does not exist yet reads as "unknown" (an empty result), never as an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Engine, Float, Integer, MetaData, String, Table, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["LagRow", "read_lag", "sqlite_file_missing", "sync_lag"]

log = logging.getLogger(__name__)

sync_lag = Table(
    "sync_lag",
    MetaData(),
    Column("direction", String(20), primary_key=True),
    Column("lag_ms", Float, nullable=False),
    Column("backlog", Integer, nullable=False),
    Column("measured_at", DateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class LagRow:
    direction: str
    lag_ms: float
    backlog: int
    measured_at: datetime


def sqlite_file_missing(url: str) -> bool:
    """True for a SQLite file URL whose file does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return False
    return not Path(database).exists()


def read_lag(engine: Engine) -> dict[str, LagRow]:
    """Every direction's row; empty when the database or the table is not there yet."""
    if sqlite_file_missing(str(engine.url)):
        return {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sync_lag)).all()
    except SQLAlchemyError as exc:
        log.info("sync lag unknown: %s", exc.__class__.__name__, extra={"error": str(exc)})
        return {}
    return {
        row.direction: LagRow(row.direction, float(row.lag_ms), int(row.backlog), row.measured_at)
        for row in rows
    }
