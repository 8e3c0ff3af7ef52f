"""The embedded transport: an append-only ``sync_stream`` table and a per-consumer offset.

Positions are assigned in commit order: on PostgreSQL every publish takes a transaction-scoped advisory
lock first, so a consumer reading ``position > offset`` never skips a row committed late. SQLite
serialises writers anyway.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from acl.sync.core.engines import is_postgres
from acl.sync.core.events import SyncEvent
from acl.sync.core.tables import sync_offsets, sync_stream
from acl.sync.transports.base import Backlog, Delivery

__all__ = ["SqlStreamTransport"]

_ADVISORY_KEY = 0x5F4C0E  # any constant shared by every publisher of the sync database


class SqlStreamTransport:
    def __init__(self, engine: Engine, stream: str = "legacy", *, poll_interval: float = 0.02) -> None:
        self._engine = engine
        self.stream = stream
        self._poll = poll_interval

    def publish(self, events: Sequence[SyncEvent]) -> None:
        if not events:
            return
        rows = [
            {
                "stream": self.stream,
                "event_id": event.event_id,
                "occurred_at": event.occurred_at.astimezone(UTC).replace(tzinfo=None),
                "body": event.to_message(),
            }
            for event in events
        ]
        dialect_insert = postgresql.insert if is_postgres(self._engine) else sqlite.insert
        # A write first (no read-then-write), so a SQLite transaction never has to upgrade its lock.
        statement = dialect_insert(sync_stream).on_conflict_do_nothing(index_elements=["stream", "event_id"])
        with self._engine.begin() as connection:
            if is_postgres(self._engine):
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            connection.execute(statement, rows)

    def _offset(self, connection, consumer: str) -> int:
        position = connection.scalar(
            select(sync_offsets.c.position).where(
                sync_offsets.c.consumer == consumer, sync_offsets.c.stream == self.stream
            )
        )
        return int(position or 0)

    def receive(self, consumer: str, *, limit: int, wait: float) -> list[Delivery]:
        deadline = time.monotonic() + wait
        while True:
            with self._engine.connect() as connection:
                offset = self._offset(connection, consumer)
                rows = connection.execute(
                    select(sync_stream.c.position, sync_stream.c.body)
                    .where(sync_stream.c.stream == self.stream, sync_stream.c.position > offset)
                    .order_by(sync_stream.c.position)
                    .limit(limit)
                ).all()
            if rows or time.monotonic() >= deadline:
                return [Delivery(SyncEvent.from_message(row.body), str(row.position)) for row in rows]
            time.sleep(self._poll)

    def ack(self, consumer: str, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        position = max(int(delivery.token) for delivery in deliveries)
        with self._engine.begin() as connection:
            done = connection.execute(
                update(sync_offsets)
                .where(
                    sync_offsets.c.consumer == consumer,
                    sync_offsets.c.stream == self.stream,
                    sync_offsets.c.position < position,
                )
                .values(position=position)
            ).rowcount
            if not done and self._offset(connection, consumer) == 0:
                try:
                    with connection.begin_nested():
                        connection.execute(
                            insert(sync_offsets).values(
                                consumer=consumer, stream=self.stream, position=position
                            )
                        )
                except IntegrityError:
                    connection.execute(
                        update(sync_offsets)
                        .where(
                            sync_offsets.c.consumer == consumer,
                            sync_offsets.c.stream == self.stream,
                            sync_offsets.c.position < position,
                        )
                        .values(position=position)
                    )

    def rewind(self, consumer: str) -> None:
        """Nothing to do: ``receive`` always starts after the acknowledged offset."""

    def backlog(self, consumer: str) -> Backlog:
        with self._engine.connect() as connection:
            offset = self._offset(connection, consumer)
            row = connection.execute(
                select(func.count(), func.min(sync_stream.c.occurred_at)).where(
                    sync_stream.c.stream == self.stream, sync_stream.c.position > offset
                )
            ).one()
        oldest = row[1].replace(tzinfo=UTC) if row[1] is not None else None
        return Backlog(count=int(row[0]), oldest=oldest)

    def prune(self, *, keep: timedelta) -> int:
        """Delete rows at or below the lowest offset of this stream's consumers and older than ``keep``.

        A consumer that never acknowledged anything has no offset yet and does not hold rows back: it
        starts from a backfill, not from the stream's history.
        """
        cutoff = (datetime.now(UTC) - keep).replace(tzinfo=None)
        with self._engine.begin() as connection:
            lowest = connection.scalar(
                select(func.min(sync_offsets.c.position)).where(sync_offsets.c.stream == self.stream)
            )
            if lowest is None:
                return 0
            return connection.execute(
                delete(sync_stream).where(
                    sync_stream.c.stream == self.stream,
                    sync_stream.c.position <= lowest,
                    sync_stream.c.occurred_at < cutoff,
                )
            ).rowcount

    def close(self) -> None:
        """The engine belongs to the caller."""
