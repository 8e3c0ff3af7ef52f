"""Dead letters: the reverse events the monolith refused for good, set aside with the reason.

A refused event would otherwise either stall its relay (asked again forever) or vanish. The reverse
relay records it in ``service_dead_letter`` (in the service's own database, next to its outbox), logs
an error with the event id and the reason, and goes on with the events behind it. The direction's lag
record counts them (``dead``), and ``python -m acl.sync dead-letters`` lists them and sends them again
(``--retry EVENT_ID`` or ``--all``) once the cause is fixed; an event the monolith then takes leaves
the dead letters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from acl.sync.core.events import SyncEvent
from acl.sync.core.outcomes import EventOutcome
from acl.sync.core.tables import dead_letter_metadata, service_dead_letter, service_outbox

__all__ = ["DeadLetters", "dead_letters_for"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


class DeadLetters:
    """``service_dead_letter`` in one database; the table is created on first use."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ready = False
        self.table = service_dead_letter

    def _ensure(self, connection: Connection | None = None) -> None:
        if self._ready:
            return
        if connection is None:
            with self._engine.begin() as own:
                dead_letter_metadata.create_all(own, checkfirst=True)
        else:
            dead_letter_metadata.create_all(connection, checkfirst=True)
        self._ready = True

    def record(
        self,
        connection: Connection | None,
        events: Sequence[SyncEvent],
        refusals: Mapping[str, EventOutcome],
    ) -> None:
        """Set ``events`` aside with their refusal; on ``connection`` (the relay's transaction) or alone.

        Recording the same event again (a batch sent twice) updates its reason and counts the attempt.
        """
        if connection is None:
            with self._engine.begin() as own:
                self.record(own, events, refusals)
            return
        self._ensure(connection)
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        now = _now()
        for event in events:
            refusal = refusals[event.event_id]
            reason = json.dumps(refusal.reason or {}, sort_keys=True, default=str)
            statement = insert(service_dead_letter).values(
                event_id=event.event_id,
                aggregate_type=event.aggregate_type,
                aggregate_id=event.aggregate_id,
                sequence=event.sequence,
                event_type=event.type,
                payload=event.payload,
                occurred_at=_naive_utc(event.occurred_at),
                origin=event.origin,
                reason=reason,
                refused_at=now,
                attempts=1,
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[service_dead_letter.c.event_id],
                    set_={
                        "reason": statement.excluded.reason,
                        "refused_at": statement.excluded.refused_at,
                        "attempts": service_dead_letter.c.attempts + 1,
                    },
                )
            )
            log.error(
                "dead letter: the monolith refused event %s (%s %s/%s seq %s) for good: %s",
                event.event_id,
                event.type,
                event.aggregate_type,
                event.aggregate_id,
                event.sequence,
                reason,
                extra={"event_id": event.event_id, "reason": reason},
            )

    def refused_again(self, event_id: str, refusal: EventOutcome) -> None:
        """A retry was refused too: keep the event, with the new reason."""
        self._ensure()
        with self._engine.begin() as connection:
            connection.execute(
                update(service_dead_letter)
                .where(service_dead_letter.c.event_id == event_id)
                .values(
                    reason=json.dumps(refusal.reason or {}, sort_keys=True, default=str),
                    refused_at=_now(),
                    attempts=service_dead_letter.c.attempts + 1,
                )
            )

    def count(self) -> int:
        self._ensure()
        with self._engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(service_dead_letter)) or 0)

    def list(self, event_ids: Sequence[str] | None = None) -> list[Any]:
        """Dead letters, oldest refusal first (only ``event_ids`` when given)."""
        self._ensure()
        query = select(service_dead_letter).order_by(service_dead_letter.c.id)
        if event_ids is not None:
            query = query.where(service_dead_letter.c.event_id.in_(list(event_ids)))
        with self._engine.connect() as connection:
            return list(connection.execute(query).all())

    def remove(self, event_id: str) -> None:
        """The event reached the monolith: it leaves the dead letters."""
        self._ensure()
        with self._engine.begin() as connection:
            connection.execute(delete(service_dead_letter).where(service_dead_letter.c.event_id == event_id))


def dead_letters_for(engine: Engine, table: Table) -> DeadLetters | None:
    """The dead letters of an outbox: a service's outbox keeps them next to it; the monolith's outbox
    (the forward relay) has none, since a transport never refuses an event."""
    return DeadLetters(engine) if table is service_outbox else None
