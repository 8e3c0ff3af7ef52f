"""Versions of aggregates whose changes do not commute (an order's status), on a service's side.

The service's ``sync_version`` counts the changes it applied to each such aggregate, its own and the
monolith's (the monolith's Django app keeps the same count in ``internal_aggregate_version``). Every
event carries the version its change made; the receiving side applies a change only when its count is
the one the change expects (one behind, or the first of a batch's run of changes to the aggregate).
When the aggregate changed here meanwhile, the change is parked in ``sync_conflict`` (the conflict
queue ``acl.sync.core.stock`` defines) with both values, never applied, until an operator resolves it.
An aggregate this side never counted a change of has nothing to overwrite: the change applies and
its count is taken.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, insert, select, update

from acl.sync.core.stock import sync_conflict

__all__ = [
    "create_version_sync_tables",
    "park_version_conflict",
    "sync_version",
    "version_of",
    "version_set",
    "version_sync_metadata",
]

version_sync_metadata = MetaData()

sync_version = Table(
    "sync_version",
    version_sync_metadata,
    Column("aggregate_type", String(30), primary_key=True),
    Column("aggregate_id", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
)


def create_version_sync_tables(connection: Connection) -> None:
    """``sync_version`` and the conflict queue in a service's database, when missing."""
    version_sync_metadata.create_all(connection, checkfirst=True)
    sync_conflict.create(connection, checkfirst=True)


def version_of(
    connection: Connection, aggregate_type: str, aggregate_id: str, *, lock: bool = False
) -> int | None:
    """The aggregate's count of changes here; None when this side never counted one. ``lock`` holds its
    row until the transaction ends (PostgreSQL), so a concurrent change of the aggregate waits."""
    query = select(sync_version.c.version).where(
        sync_version.c.aggregate_type == aggregate_type, sync_version.c.aggregate_id == aggregate_id
    )
    found = connection.scalar(query.with_for_update() if lock else query)
    return None if found is None else int(found)


def version_set(connection: Connection, aggregate_type: str, aggregate_id: str, version: int) -> None:
    """The aggregate's count is now ``version`` (inside the change's transaction)."""
    changed = connection.execute(
        update(sync_version)
        .where(sync_version.c.aggregate_type == aggregate_type, sync_version.c.aggregate_id == aggregate_id)
        .values(version=version)
    ).rowcount
    if not changed:
        connection.execute(
            insert(sync_version).values(
                aggregate_type=aggregate_type, aggregate_id=aggregate_id, version=version
            )
        )


def park_version_conflict(
    connection: Connection,
    *,
    event_id: str,
    origin: str,
    aggregate_type: str,
    aggregate_id: str,
    field: str,
    ours: Any,
    theirs: Any,
    expected: int,
    found: int,
) -> None:
    """Put the change in the conflict queue with this side's value (``ours``); nothing is applied."""
    reason = f"changed here meanwhile (version {found}, the change expects {expected})"
    connection.execute(
        insert(sync_conflict).values(
            event_id=event_id,
            origin=origin,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            field=field,
            ours=json.dumps({field: ours}),
            theirs=json.dumps({field: theirs, "reason": reason}),
            expected_version=expected,
            found_version=found,
            detected_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
