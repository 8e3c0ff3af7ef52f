"""Reads of the sync database's ``sync_lag`` and ``sync_dead`` tables (kept current by the sync relays).

The control plane does not import ``acl``: both take the tables from ``strangler_proxy.sync_status``
(which says what their rows mean; ``acl.sync`` creates them). A database or table that does not exist
yet reads as "unknown" (an empty result), never as an error; a sync database written before
``sync_dead`` existed has no such table, and its dead counts read as unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from strangler_proxy.sync_status import sync_dead, sync_lag

__all__ = ["LagRow", "read_lag", "sqlite_file_missing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LagRow:
    direction: str
    lag_ms: float
    backlog: int
    measured_at: datetime
    dead: int | None = None
    """Events refused for good and set aside (None: not reported for this direction)."""


def sqlite_file_missing(url: str) -> bool:
    """True for a SQLite file URL whose file does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return False
    return not Path(database).exists()


def _dead_counts(engine: Engine) -> dict[str, int]:
    try:
        with engine.connect() as conn:
            return {row.direction: int(row.dead) for row in conn.execute(select(sync_dead))}
    except SQLAlchemyError as exc:
        log.debug("dead-letter counts unknown: %s", exc.__class__.__name__, extra={"error": str(exc)})
        return {}


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
    dead = _dead_counts(engine) if rows else {}
    return {
        row.direction: LagRow(
            row.direction, float(row.lag_ms), int(row.backlog), row.measured_at, dead.get(row.direction)
        )
        for row in rows
    }
