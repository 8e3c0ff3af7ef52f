"""Sync lag per direction: ``now - occurred_at`` of the oldest event not yet applied, and the backlog.

* forward (legacy -> service): unpublished monolith outbox rows + what the consumer has not acknowledged;
* reverse (service -> legacy): unpublished rows of the service's outbox (the reverse relay marks a row
  published only after the monolith applied it).

``measure_lag`` returns the figures and stores them in ``sync_lag`` (one row per direction) for readers
such as the control plane; ``python -m acl.sync lag --json`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from acl.sync.relay import OutboxRelay
from acl.sync.tables import sync_lag
from acl.sync.transports.base import Backlog

__all__ = ["DirectionLag", "combine", "relay_backlog", "store_lag"]


@dataclass(frozen=True, slots=True)
class DirectionLag:
    direction: str
    lag_ms: float
    backlog: int
    oldest_unapplied: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "lag_ms": round(self.lag_ms, 1),
            "backlog": self.backlog,
            "oldest_unapplied": self.oldest_unapplied.isoformat() if self.oldest_unapplied else None,
        }


def combine(direction: str, *parts: Backlog, now: datetime | None = None) -> DirectionLag:
    moment = now or datetime.now(UTC)
    count = sum(part.count for part in parts)
    times = [part.oldest for part in parts if part.oldest is not None]
    oldest = min(times) if times else None
    lag = max(0.0, (moment - oldest).total_seconds() * 1000) if oldest is not None else 0.0
    return DirectionLag(direction, lag, count, oldest)


def relay_backlog(relay: OutboxRelay) -> Backlog:
    count, oldest = relay.backlog()
    return Backlog(count, oldest)


def store_lag(engine: Engine, figures: list[DirectionLag]) -> None:
    """Upsert one ``sync_lag`` row per direction (the relays and the lag command may write together)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as connection:
        for figure in figures:
            statement = dialect_insert(sync_lag).values(
                direction=figure.direction, lag_ms=figure.lag_ms, backlog=figure.backlog, measured_at=now
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[sync_lag.c.direction],
                    set_={
                        "lag_ms": statement.excluded.lag_ms,
                        "backlog": statement.excluded.backlog,
                        "measured_at": statement.excluded.measured_at,
                    },
                )
            )
