"""Stock travels as changes: a move (``stk_delta``) with the level it made and the product's stock version.

Every side that syncs stock keeps, next to its data, three tables with the same columns everywhere (the
monolith's Django app has them too, so the control plane reads them alike):

* ``sync_stock_version``  how many stock changes this side applied to a product, its own and the other
  side's. An event carries the version its change made (``stk_ver``); the other side expects to be
  one behind it;
* ``sync_applied``        the ids of the other side's events applied here, written in the transaction
  of the change, so a move is applied exactly once whatever the transport redelivers;
* ``sync_conflict``       the conflict queue: a change that does not commute (a level that was set, not
  moved) found this side changed meanwhile (its version not the expected one), or a move that would
  take the stock below zero. It is parked with both values, never applied, until an operator resolves it.

A move commutes: it is applied once, whatever happened on this side meanwhile, so concurrent writes on
both sides add up on both sides instead of the last copy overwriting the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

__all__ = [
    "StockChange",
    "create_stock_sync_tables",
    "park_conflict",
    "record_applied",
    "record_copy",
    "stock_change_from_payload",
    "stock_sync_metadata",
    "stock_version",
    "stock_version_at_least",
    "stock_version_next",
    "sync_applied",
    "sync_conflict",
    "sync_copied",
    "sync_stock_version",
    "was_applied",
]

stock_sync_metadata = MetaData()

sync_stock_version = Table(
    "sync_stock_version",
    stock_sync_metadata,
    Column("aggregate_id", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
)

sync_applied = Table(
    "sync_applied",
    stock_sync_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("applied_at", DateTime, nullable=False),  # naive UTC
)

sync_copied = Table(
    "sync_copied",
    stock_sync_metadata,
    Column("aggregate_id", String(40), primary_key=True),
    Column("sequence", Integer, nullable=False),  # the other side's last outbox sequence in the copy
)
"""What a backfill copied: a product's changes up to this outbox sequence are in the copied row."""

sync_conflict = Table(
    "sync_conflict",
    stock_sync_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("origin", String(40), nullable=False),
    Column("aggregate_type", String(30), nullable=False),
    Column("aggregate_id", String(40), nullable=False),
    Column("field", String(40), nullable=False),
    Column("ours", Text, nullable=False),  # JSON: this side's value when the change came
    Column("theirs", Text, nullable=False),  # JSON: the change (level, move, why it was parked)
    Column("expected_version", Integer, nullable=False),
    Column("found_version", Integer, nullable=False),
    Column("detected_at", DateTime, nullable=False),  # naive UTC
    Column("resolved_at", DateTime, nullable=True),
    Column("resolution", String(20), nullable=True),  # ours | theirs
    Column("resolved_by", String(150), nullable=True),
)


def create_stock_sync_tables(connection: Connection) -> None:
    """Create the three tables in a service's database when missing."""
    stock_sync_metadata.create_all(connection, checkfirst=True)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stock_version(connection: Connection, aggregate_id: int | str) -> int:
    found = connection.scalar(
        select(sync_stock_version.c.version).where(sync_stock_version.c.aggregate_id == str(aggregate_id))
    )
    return int(found or 0)


def stock_version_next(connection: Connection, aggregate_id: int | str) -> int:
    """Count one more stock change of the product (inside the change's transaction); the version now."""
    key = str(aggregate_id)
    found = connection.scalar(
        select(sync_stock_version.c.version).where(sync_stock_version.c.aggregate_id == key)
    )
    if found is None:
        connection.execute(insert(sync_stock_version).values(aggregate_id=key, version=1))
        return 1
    connection.execute(
        update(sync_stock_version).where(sync_stock_version.c.aggregate_id == key).values(version=found + 1)
    )
    return int(found) + 1


def record_copy(connection: Connection, aggregate_id: int | str, *, sequence: int, version: int) -> None:
    """A backfill copied the product as of the other side's outbox ``sequence`` and stock ``version``."""
    key = str(aggregate_id)
    stock_version_at_least(connection, key, version)
    found = connection.scalar(select(sync_copied.c.sequence).where(sync_copied.c.aggregate_id == key))
    if found is None:
        connection.execute(insert(sync_copied).values(aggregate_id=key, sequence=sequence))
    elif found < sequence:
        connection.execute(
            update(sync_copied).where(sync_copied.c.aggregate_id == key).values(sequence=sequence)
        )


def stock_version_at_least(connection: Connection, aggregate_id: int | str, version: int) -> None:
    """Raise the product's stock version to ``version`` (a backfill's copy holds that many changes)."""
    key = str(aggregate_id)
    found = connection.scalar(
        select(sync_stock_version.c.version).where(sync_stock_version.c.aggregate_id == key)
    )
    if found is None:
        connection.execute(insert(sync_stock_version).values(aggregate_id=key, version=version))
    elif found < version:
        connection.execute(
            update(sync_stock_version).where(sync_stock_version.c.aggregate_id == key).values(version=version)
        )


@dataclass(frozen=True, slots=True)
class StockChange:
    """One stock change of the other side, as its event carries it."""

    event_id: str
    origin: str
    product_id: int
    delta: int | None
    """The move; None when the change set a level (which does not commute)."""
    level: int
    """The level the change made on its side."""
    version: int
    """The product's stock version the change made on its side."""

    @property
    def commutes(self) -> bool:
        return self.delta is not None


def stock_change_from_payload(
    event_id: str, origin: str, product_id: int, payload: Mapping[str, Any], *, level_field: str
) -> StockChange | None:
    """The change an event carries (None for an event without ``stk_ver``: it carries no stock change);
    ``level_field`` names the level in the monolith's own vocabulary. Raises ValueError when malformed."""
    if payload.get("stk_ver") is None:
        return None
    version, delta, level = payload.get("stk_ver"), payload.get("stk_delta"), payload.get(level_field)
    for name, value, optional in (
        ("stk_ver", version, False),
        ("stk_delta", delta, True),
        (level_field, level, False),
    ):
        if value is None and optional:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    return StockChange(event_id, origin, product_id, delta, int(level), int(version))  # type: ignore[arg-type]


def was_applied(connection: Connection, event_id: str) -> bool:
    return (
        connection.scalar(select(sync_applied.c.event_id).where(sync_applied.c.event_id == event_id))
        is not None
    )


def record_applied(connection: Connection, event_id: str) -> None:
    connection.execute(insert(sync_applied).values(event_id=event_id, applied_at=_now()))


def park_conflict(
    connection: Connection, change: StockChange, *, ours: int, found_version: int, reason: str
) -> None:
    """Put ``change`` in the conflict queue with this side's value; nothing is applied."""
    connection.execute(
        insert(sync_conflict).values(
            event_id=change.event_id,
            origin=change.origin,
            aggregate_type="product",
            aggregate_id=str(change.product_id),
            field="stock",
            ours=json.dumps({"stock": ours}),
            theirs=json.dumps({"stock": change.level, "delta": change.delta, "reason": reason}),
            expected_version=change.version - 1,
            found_version=found_version,
            detected_at=_now(),
        )
    )
