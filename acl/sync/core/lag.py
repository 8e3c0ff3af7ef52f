"""Sync lag per direction: ``now - occurred_at`` of the oldest event not yet applied, and the backlog.

* forward (legacy -> service): unpublished monolith outbox rows + what the consumer has not acknowledged;
* reverse (service -> legacy): unpublished rows of the service's outbox (the reverse relay marks a row
  published only after the monolith applied it, or set it aside as a dead letter). Each service's relay
  records "reverse:<origin>", or the row its pipeline names (``STRANGLER_SYNC_DIRECTION``).

A reverse direction also reports ``dead``: the events the monolith refused for good, kept in the
service's dead letters (``python -m acl.sync dead-letters``); they are not in the backlog (nothing
will deliver them without an operator), so they never hold a drain up, but they are shown.

``measure_lag`` returns the figures and stores them in ``sync_lag`` (one row per direction; dead counts
in ``sync_dead``) for readers such as the control plane; ``python -m acl.sync lag --json`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from acl.sync.core.tables import sync_dead, sync_lag
from acl.sync.transports.base import Backlog
from acl.sync.workers.relay import OutboxRelay
from strangler_proxy.sync_status import DIRECTION_MAX

__all__ = [
    "DirectionLag",
    "RelayBacklog",
    "combine",
    "relay_backlog",
    "reverse_direction",
    "store_lag",
]


def reverse_direction(origin: str) -> str:
    """The ``sync_lag`` row of ``origin``'s reverse relay unless one is named: "reverse:<origin>", cut to
    the column's width."""
    return f"reverse:{origin}"[:DIRECTION_MAX]


@dataclass(frozen=True, slots=True)
class RelayBacklog(Backlog):
    """An outbox relay's backlog, plus the events it set aside as dead letters (None: it keeps none)."""

    dead: int | None = None


@dataclass(frozen=True, slots=True)
class DirectionLag:
    direction: str
    lag_ms: float
    backlog: int
    oldest_unapplied: datetime | None
    dead: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "lag_ms": round(self.lag_ms, 1),
            "backlog": self.backlog,
            "dead": self.dead,
            "oldest_unapplied": self.oldest_unapplied.isoformat() if self.oldest_unapplied else None,
        }


def combine(direction: str, *parts: Backlog, now: datetime | None = None) -> DirectionLag:
    moment = now or datetime.now(UTC)
    count = sum(part.count for part in parts)
    times = [part.oldest for part in parts if part.oldest is not None]
    oldest = min(times) if times else None
    lag = max(0.0, (moment - oldest).total_seconds() * 1000) if oldest is not None else 0.0
    deads = [part.dead for part in parts if isinstance(part, RelayBacklog) and part.dead is not None]
    return DirectionLag(direction, lag, count, oldest, sum(deads) if deads else None)


def relay_backlog(relay: OutboxRelay) -> RelayBacklog:
    count, oldest = relay.backlog()
    return RelayBacklog(count, oldest, relay.dead_count())


def _upsert(connection: object, table: Table, key: str, values: dict[str, object], dialect: str) -> None:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    connection.execute(  # type: ignore[attr-defined]
        statement.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={name: statement.excluded[name] for name in values if name != key},
        )
    )


def store_lag(engine: Engine, figures: list[DirectionLag]) -> None:
    """Upsert one ``sync_lag`` row per direction, and its ``sync_dead`` row when it reports dead events
    (the relays and the lag command may write together)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for figure in figures:
            lag = {"direction": figure.direction, "lag_ms": figure.lag_ms, "backlog": figure.backlog}
            _upsert(connection, sync_lag, "direction", {**lag, "measured_at": now}, dialect)
            if figure.dead is not None:
                dead = {"direction": figure.direction, "dead": figure.dead, "measured_at": now}
                _upsert(connection, sync_dead, "direction", dead, dialect)
