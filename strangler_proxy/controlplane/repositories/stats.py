"""Reads of the data plane's rolling per-second stats (route_stats), summed over workers."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, delete, select

from strangler_proxy.controlplane.metrics import Window
from strangler_proxy.store.schema import route_stats

__all__ = ["per_second", "prune", "summary"]


def _rows(conn: Connection, since: int, until: int, route: str | None):
    stmt = select(route_stats).where(route_stats.c.second >= since, route_stats.c.second < until)
    if route is not None:
        stmt = stmt.where(route_stats.c.route == route)
    return conn.execute(stmt)


def summary(
    conn: Connection, *, since: int, until: int, route: str | None = None
) -> dict[tuple[str, str], Window]:
    """One window per (route, target) over seconds ``since`` <= s < ``until``."""
    windows: dict[tuple[str, str], Window] = defaultdict(Window)
    for row in _rows(conn, since, until, route):
        windows[(row.route, row.target)].add_row(row)
    return dict(windows)


def per_second(
    conn: Connection, *, since: int, until: int, route: str | None = None
) -> dict[tuple[str, str, int], Window]:
    """One window per (route, target, second)."""
    windows: dict[tuple[str, str, int], Window] = defaultdict(Window)
    for row in _rows(conn, since, until, route):
        windows[(row.route, row.target, int(row.second))].add_row(row)
    return dict(windows)


def prune(conn: Connection, *, older_than: int) -> int:
    return conn.execute(delete(route_stats).where(route_stats.c.second < older_than)).rowcount
