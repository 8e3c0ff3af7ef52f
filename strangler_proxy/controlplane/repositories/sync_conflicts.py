"""Reads and resolutions of the sides' conflict queues: the ``sync_conflict`` table in each side's database.

Every side that syncs stock keeps one with the same columns (the monolith's sync app and the services,
through ``acl.sync.core.stock``); a change from the other side that did not commute with a change made here
meanwhile is parked there with both values instead of being applied. The control plane does not import
``acl``: the columns read are named here. A side without the table yet has no conflicts.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, column, inspect, select, table, update

__all__ = ["CONFLICT_COLUMNS", "ConflictRow", "read_conflicts", "resolve_conflict", "supersede_conflicts"]

CONFLICT_COLUMNS = (
    "id",
    "event_id",
    "origin",
    "aggregate_type",
    "aggregate_id",
    "field",
    "ours",
    "theirs",
    "expected_version",
    "found_version",
    "detected_at",
    "resolved_at",
    "resolution",
    "resolved_by",
)
_TABLE = table("sync_conflict", *(column(name) for name in CONFLICT_COLUMNS))


@dataclass(frozen=True, slots=True)
class ConflictRow:
    side: str
    values: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        document = {"side": self.side, **self.values}
        for key in ("ours", "theirs"):
            with contextlib.suppress(TypeError, ValueError):  # else shown as stored
                document[key] = json.loads(document[key])
        for key in ("detected_at", "resolved_at"):
            if isinstance(document.get(key), datetime):
                document[key] = document[key].isoformat()
        return document


def read_conflicts(engine: Engine, side: str, *, open_only: bool, limit: int = 500) -> list[ConflictRow]:
    """The side's parked changes, newest first. Raises SQLAlchemyError when the database is unreadable."""
    if not inspect(engine).has_table("sync_conflict"):
        return []
    query = select(_TABLE).order_by(_TABLE.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(_TABLE.c.resolved_at.is_(None))
    with engine.connect() as conn:
        return [ConflictRow(side, dict(row._mapping)) for row in conn.execute(query)]


def resolve_conflict(engine: Engine, conflict_id: int, *, resolution: str, by: str, at: datetime) -> bool:
    """Mark an open conflict resolved; False when there is no such open conflict."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id == conflict_id, _TABLE.c.resolved_at.is_(None))
            .values(resolved_at=at, resolution=resolution, resolved_by=by)
        )
    return bool(done.rowcount)


def supersede_conflicts(
    engine: Engine, resolved: dict[str, Any], *, covered: set[str], by: str, at: datetime
) -> list[int]:
    """Resolve as ``superseded`` the other open conflicts of ``resolved``'s aggregate and field on this
    side (the other half of the same crossing) whose values are all among ``covered`` (the names the
    resolution wrote); their ids."""
    if not inspect(engine).has_table("sync_conflict"):
        return []
    match = (
        _TABLE.c.resolved_at.is_(None),
        _TABLE.c.aggregate_type == resolved["aggregate_type"],
        _TABLE.c.aggregate_id == resolved["aggregate_id"],
        _TABLE.c.field == resolved["field"],
        _TABLE.c.event_id != resolved["event_id"],
    )
    with engine.begin() as conn:
        ids = [
            int(row.id)
            for row in conn.execute(select(_TABLE.c.id, _TABLE.c.ours).where(*match))
            if _names(row.ours) <= covered
        ]
        if ids:
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.id.in_(ids), _TABLE.c.resolved_at.is_(None))
                .values(resolved_at=at, resolution="superseded", resolved_by=by)
            )
    return ids


def _names(stored: Any) -> set[str]:
    """The value names of a conflict's ``ours`` (JSON text); unreadable: a name nothing covers."""
    try:
        document = json.loads(stored)
    except (TypeError, ValueError):
        return {"\0unreadable"}
    return set(document) if isinstance(document, dict) else {"\0unreadable"}
