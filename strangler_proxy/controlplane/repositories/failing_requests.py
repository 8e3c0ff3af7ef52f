"""Reads of the failing requests the data-plane workers kept (failing_requests), newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from strangler_proxy.store.schema import failing_requests

__all__ = ["prune", "recent"]


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": datetime.fromtimestamp(row.at_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "route": row.route,
        "target": row.target,
        "method": row.method,
        "path": row.path,
        "status": row.status,
        "failure": row.failure,
        "upstream": row.upstream,
        "version": row.version,
        "request_id": row.request_id,
        "trace_id": row.trace_id,
        "worker": row.worker,
    }


def recent(
    conn: Connection, *, route: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """The newest ``limit`` failing requests (of ``route`` when given), newest first."""
    stmt = (
        select(failing_requests)
        .order_by(failing_requests.c.at_ms.desc(), failing_requests.c.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if route is not None:
        stmt = stmt.where(failing_requests.c.route == route)
    if before_id:
        stmt = stmt.where(failing_requests.c.id < before_id)
    return [_entry(row) for row in conn.execute(stmt)]


def prune(conn: Connection, *, older_than: int) -> int:
    """Delete the failing requests answered before ``older_than`` (Unix seconds)."""
    cutoff = older_than * 1000
    return conn.execute(delete(failing_requests).where(failing_requests.c.at_ms < cutoff)).rowcount
