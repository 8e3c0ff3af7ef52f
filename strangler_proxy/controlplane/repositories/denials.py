"""Refused requests, counted per minute, actor, address, action, target and reason (``audit_denials``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from strangler_proxy.store.schema import audit_denials

__all__ = ["DenialFilter", "DenialKey", "DenialRow", "count", "prune", "query"]


@dataclass(frozen=True, slots=True)
class DenialKey:
    minute: datetime
    actor: str
    address: str
    action: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class DenialRow:
    id: int
    minute: datetime
    actor: str
    address: str
    action: str
    target: str
    reason: str
    count: int
    first_at: datetime
    last_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "minute": self.minute.isoformat(),
            "actor": self.actor,
            "address": self.address or None,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "count": self.count,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class DenialFilter:
    actor: str | None = None
    address: str | None = None
    action: str | None = None
    before_id: int | None = None
    limit: int = 100


def count(conn: Connection, key: DenialKey, at: datetime) -> None:
    """Add one denial to its row, creating the row for the first one of its minute (one upsert)."""
    upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = upsert(audit_denials).values(
        minute=key.minute,
        actor=key.actor,
        address=key.address,
        action=key.action,
        target=key.target,
        reason=key.reason,
        count=1,
        first_at=at,
        last_at=at,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["minute", "actor", "address", "action", "target", "reason"],
            set_={"count": audit_denials.c.count + 1, "last_at": at},
        )
    )


def query(conn: Connection, filters: DenialFilter) -> list[DenialRow]:
    """Newest first."""
    c = audit_denials.c
    stmt = select(audit_denials).order_by(c.id.desc()).limit(max(1, min(filters.limit, 1000)))
    if filters.actor:
        stmt = stmt.where(c.actor == filters.actor)
    if filters.address:
        stmt = stmt.where(c.address == filters.address)
    if filters.action:
        stmt = stmt.where(c.action == filters.action)
    if filters.before_id:
        stmt = stmt.where(c.id < filters.before_id)
    return [
        DenialRow(
            id=row.id,
            minute=row.minute,
            actor=row.actor,
            address=row.address,
            action=row.action,
            target=row.target,
            reason=row.reason,
            count=row._mapping["count"],  # Row.count is the tuple method
            first_at=row.first_at,
            last_at=row.last_at,
        )
        for row in conn.execute(stmt)
    ]


def prune(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(audit_denials).where(audit_denials.c.minute < before)).rowcount
