"""Reads of the path shapes the data-plane workers counted among unmatched requests (unmatched_paths)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, select

from strangler_proxy.store.schema import unmatched_paths

__all__ = ["prune", "summary"]


def summary(conn: Connection, *, since: int, until: int) -> dict[str, int]:
    """Requests per path shape, summed over workers, for rows stamped ``since`` <= s < ``until``."""
    requests = func.coalesce(func.sum(unmatched_paths.c.requests), 0)
    stmt = (
        select(unmatched_paths.c.path, requests.label("requests"))
        .where(unmatched_paths.c.second >= since, unmatched_paths.c.second < until)
        .group_by(unmatched_paths.c.path)
    )
    return {str(row.path): int(row.requests) for row in conn.execute(stmt)}


def prune(conn: Connection, *, older_than: int) -> int:
    return conn.execute(delete(unmatched_paths).where(unmatched_paths.c.second < older_than)).rowcount
