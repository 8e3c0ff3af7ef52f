"""Time, passed explicitly so tests can drive it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "as_utc", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC: a naive value is taken as UTC (SQLite hands back naive datetimes; every time we
    store is UTC), an aware one is converted (PostgreSQL hands back the session's zone, which is the
    server's or ``PGTZ``, not necessarily UTC)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
