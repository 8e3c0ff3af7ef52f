"""The append-only audit log: this module only appends and reads (the database refuses UPDATE/DELETE)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from strangler_proxy.store.schema import audit_log

__all__ = ["AuditEntry", "AuditFilter", "append", "query"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    outcome: str
    address: str | None = None
    target: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    diff: str | None = None
    reason: str | None = None
    evidence: dict[str, Any] | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100
    extra: dict[str, str] = field(default_factory=dict)


def append(conn: Connection, entry: AuditEntry) -> int:
    values = asdict(entry)
    values.pop("id")
    return conn.execute(insert(audit_log).values(**values).returning(audit_log.c.id)).scalar_one()


def query(conn: Connection, filters: AuditFilter) -> list[AuditEntry]:
    """Newest first, narrowed by ``filters``."""
    c = audit_log.c
    stmt = select(audit_log).order_by(c.id.desc()).limit(max(1, min(filters.limit, 1000)))
    if filters.actor:
        stmt = stmt.where(c.actor == filters.actor)
    if filters.action:
        stmt = stmt.where(c.action == filters.action)
    if filters.outcome:
        stmt = stmt.where(c.outcome == filters.outcome)
    if filters.target:
        stmt = stmt.where(c.target == filters.target)
    if filters.since:
        stmt = stmt.where(c.at >= filters.since)
    if filters.until:
        stmt = stmt.where(c.at < filters.until)
    if filters.before_id:
        stmt = stmt.where(c.id < filters.before_id)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            outcome=row.outcome,
            address=row.address,
            target=row.target,
            version_before=row.version_before,
            version_after=row.version_after,
            diff=row.diff,
            reason=row.reason,
            evidence=row.evidence,
        )
        for row in conn.execute(stmt)
    ]
