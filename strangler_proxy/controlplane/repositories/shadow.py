"""Reads of the data plane's shadow comparisons: per-second counts and kept mismatch samples."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, select

from strangler_proxy.controlplane.metrics import ShadowWindow
from strangler_proxy.store.schema import shadow_counts, shadow_samples

__all__ = ["get_sample", "per_second", "prune", "samples", "summary"]


def summary(conn: Connection, *, since: int, until: int, route: str | None = None) -> dict[str, ShadowWindow]:
    stmt = select(shadow_counts).where(shadow_counts.c.second >= since, shadow_counts.c.second < until)
    if route is not None:
        stmt = stmt.where(shadow_counts.c.route == route)
    windows: dict[str, ShadowWindow] = defaultdict(ShadowWindow)
    for row in conn.execute(stmt):
        windows[row.route].add_row(row)
    return dict(windows)


def per_second(conn: Connection, *, since: int, until: int, route: str) -> dict[int, ShadowWindow]:
    stmt = select(shadow_counts).where(
        shadow_counts.c.second >= since, shadow_counts.c.second < until, shadow_counts.c.route == route
    )
    windows: dict[int, ShadowWindow] = defaultdict(ShadowWindow)
    for row in conn.execute(stmt):
        windows[int(row.second)].add_row(row)
    return dict(windows)


def _sample(row) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "route": row.route,
        "version": row.version,
        "request_id": row.request_id,
        "trace_id": row.trace_id,
        "method": row.method,
        "path": row.path,
        "legacy_status": row.legacy_status,
        "new_status": row.new_status,
        "diff": row.diff,
    }


def samples(
    conn: Connection, *, route: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first."""
    stmt = select(shadow_samples).order_by(shadow_samples.c.id.desc()).limit(max(1, min(limit, 500)))
    if route:
        stmt = stmt.where(shadow_samples.c.route == route)
    if before_id:
        stmt = stmt.where(shadow_samples.c.id < before_id)
    return [_sample(row) for row in conn.execute(stmt)]


def get_sample(conn: Connection, sample_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(shadow_samples).where(shadow_samples.c.id == sample_id)).first()
    return None if row is None else _sample(row)


def prune(conn: Connection, *, older_than: int) -> int:
    """Delete per-second counts older than ``older_than`` (the kept samples stay: they are few)."""
    return conn.execute(delete(shadow_counts).where(shadow_counts.c.second < older_than)).rowcount
