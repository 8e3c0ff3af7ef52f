"""Immutable route-table versions and the active-version pointer (swapped by compare-and-swap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from strangler_proxy.routes import RouteTable
from strangler_proxy.store.pointer import POINTER_ID, ActivePointer
from strangler_proxy.store.schema import active_route_table, route_versions

__all__ = [
    "ActivePointer",
    "VersionRecord",
    "active_pointer",
    "create_pointer",
    "get_version",
    "insert_version",
    "latest_version_id",
    "list_versions",
    "swap_pointer",
    "version_count",
]


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    table: RouteTable
    author: str
    reason: str
    parent_id: int | None
    created_at: datetime


def insert_version(
    conn: Connection, table: RouteTable, *, author: str, reason: str, parent_id: int | None, now: datetime
) -> RouteTable:
    """Store ``table`` as a new version; return it carrying its version number."""
    new_id: int = conn.execute(
        insert(route_versions)
        .values(document="{}", author=author, reason=reason, parent_id=parent_id, created_at=now)
        .returning(route_versions.c.id)
    ).scalar_one()
    stored = table.with_version(new_id)
    conn.execute(
        update(route_versions).where(route_versions.c.id == new_id).values(document=stored.to_json())
    )
    return stored


def _record(row) -> VersionRecord:
    return VersionRecord(
        id=row.id,
        table=RouteTable.from_json(row.document),
        author=row.author,
        reason=row.reason,
        parent_id=row.parent_id,
        created_at=row.created_at,
    )


def get_version(conn: Connection, version_id: int) -> VersionRecord | None:
    row = conn.execute(select(route_versions).where(route_versions.c.id == version_id)).first()
    return None if row is None else _record(row)


def list_versions(conn: Connection, *, limit: int = 50, before: int | None = None) -> list[VersionRecord]:
    """Newest first; ``before`` pages back from a version number."""
    query = select(route_versions).order_by(route_versions.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(route_versions.c.id < before)
    return [_record(row) for row in conn.execute(query)]


def version_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(route_versions)).scalar_one()


def latest_version_id(conn: Connection) -> int | None:
    return conn.execute(select(func.max(route_versions.c.id))).scalar_one()


def active_pointer(conn: Connection) -> ActivePointer | None:
    row = conn.execute(select(active_route_table).where(active_route_table.c.id == POINTER_ID)).first()
    if row is None:
        return None
    return ActivePointer(
        version_id=row.version_id,
        generation=row.generation,
        changed_at=row.changed_at,
        previous_version_id=row.previous_version_id,
    )


def create_pointer(conn: Connection, version_id: int, *, now: datetime) -> None:
    conn.execute(
        insert(active_route_table).values(
            id=POINTER_ID, version_id=version_id, generation=1, changed_at=now, previous_version_id=None
        )
    )


def swap_pointer(
    conn: Connection, *, expected: int, new: int, now: datetime, previous: int | None = None
) -> int | None:
    """Point at ``new`` when ``expected`` is still active; return the new generation, or None when stale.

    ``previous`` (default ``expected``) is what a whole-table rollback returns to: a handover names the
    version before its write fence, so the fence is never what a rollback brings back."""
    row = conn.execute(
        update(active_route_table)
        .where(active_route_table.c.id == POINTER_ID, active_route_table.c.version_id == expected)
        .values(
            version_id=new,
            generation=active_route_table.c.generation + 1,
            changed_at=now,
            previous_version_id=expected if previous is None else previous,
        )
        .returning(active_route_table.c.generation)
    ).first()
    return None if row is None else int(row.generation)
