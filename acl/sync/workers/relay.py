"""The polling publisher: unpublished outbox rows -> transport, then marked published.

On PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED`` and marked ``published_at`` in the
same transaction, so several relays can run. On SQLite exactly one relay runs, guarded by an exclusive
lock file next to the database (``RelayLock``), and it never writes to the source: SQLite commits write
transactions one at a time, so ids are committed in order and a position kept in the sync database
(``RelayCursor``) is exact. (Marking rows there would compete with the monolith's own writes for the
single write lock, which cost seconds of lag at 200 writes/s.)

A crash between publishing and marking (or moving the cursor) publishes the batch again: consumers
drop the duplicates through their inbox, so delivery is at least once and application exactly once.

A publisher may answer with one ``EventOutcome`` per event (the reverse relay's monolith client does):
an event refused for good goes to the outbox's dead letters (``acl.sync.core.dead_letters``), in the same
transaction that marks the batch on PostgreSQL, just before the cursor moves on SQLite; the events
behind it go on. Any exception from the publisher leaves the batch where it was, to be sent again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, make_url, select, update

from acl.sync.core.dead_letters import DeadLetters, dead_letters_for
from acl.sync.core.engines import is_postgres
from acl.sync.core.events import SyncEvent
from acl.sync.core.outcomes import EventOutcome
from acl.sync.core.tables import sync_offsets
from acl.tracing import TRACE_KEY

__all__ = ["OutboxRelay", "RelayCursor", "RelayLock", "RelayLocked", "row_to_event"]

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[SyncEvent]], Sequence[EventOutcome] | None]
"""Sends a batch; raises when it may be sent again, or returns each event's outcome (or None: all taken)."""


class RelayLocked(RuntimeError):
    """Another relay already holds the SQLite outbox."""


class RelayLock:
    """An exclusive, non-blocking ``flock`` on ``<database>.relay.lock``; released when the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine, name: str) -> RelayLock | None:
        """The lock a SQLite outbox needs, None for PostgreSQL (SKIP LOCKED does the job there)."""
        if is_postgres(engine):
            return None
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":
            raise ValueError("a relay needs a SQLite file, not an in-memory database")
        return cls(Path(database).with_name(f"{Path(database).name}.{name}.lock"))

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RelayLocked(f"another relay holds {self.path}; only one relay may run on SQLite") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def row_to_event(row: Any) -> SyncEvent:
    """An outbox row (monolith or service, same columns) as a SyncEvent; the trace context a service
    kept in the payload (``_trace``, see :func:`acl.sync.service.outbox.record_service_event`) is taken out
    of it into ``trace``."""
    payload = dict(row.payload)
    trace = payload.pop(TRACE_KEY, None)
    return SyncEvent(
        event_id=str(uuid.UUID(str(row.event_id))),
        aggregate_type=row.aggregate_type,
        aggregate_id=str(row.aggregate_id),
        sequence=int(row.sequence),
        type=row.event_type,
        payload=payload,
        occurred_at=_aware(row.occurred_at),
        origin=row.origin,
        trace=trace if isinstance(trace, dict) else {},
    )


class RelayCursor:
    """The last outbox id a SQLite relay published, kept in the sync database (``sync_offsets``)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name

    def load(self) -> int:
        with self._engine.connect() as connection:
            value = connection.scalar(
                select(sync_offsets.c.position).where(
                    sync_offsets.c.consumer == self.name, sync_offsets.c.stream == "outbox"
                )
            )
        return int(value or 0)

    def save(self, position: int) -> None:
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(sync_offsets)
                .where(sync_offsets.c.consumer == self.name, sync_offsets.c.stream == "outbox")
                .values(position=position)
            ).rowcount
            if not changed:
                connection.execute(
                    insert(sync_offsets).values(consumer=self.name, stream="outbox", position=position)
                )


class OutboxRelay:
    """``relay.run_once()`` publishes one batch and returns its size; ``run(stop)`` loops until ``stop``."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        publish: Publish,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.02,
        cursor: RelayCursor | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        if cursor is None and not is_postgres(engine):
            raise ValueError("a relay on SQLite keeps its position in a RelayCursor")
        self._engine = engine
        self._dead_letters = dead_letters if dead_letters is not None else dead_letters_for(engine, table)
        self._cursor = cursor
        self._table = table
        self._publish = publish
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.published = 0
        self.dead_lettered = 0

    def run_once(self) -> int:
        table = self._table
        if self._cursor is None:
            query = (
                select(table)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            # Claim, publish and mark in one transaction; other relays skip the claimed rows.
            with self._engine.begin() as connection:
                rows = connection.execute(query).all()
                if not rows:
                    return 0
                events = [row_to_event(row) for row in rows]
                self._set_aside(connection, events, self._publish(events))
                self._mark(connection, rows)
        else:
            position = self._cursor.load()
            query = select(table).where(table.c.id > position).order_by(table.c.id).limit(self.batch_size)
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            if not rows:
                return 0
            events = [row_to_event(row) for row in rows]
            self._set_aside(None, events, self._publish(events))
            self._cursor.save(rows[-1].id)
        self.published += len(events)
        return len(events)

    def _set_aside(
        self, connection: Any, events: Sequence[SyncEvent], outcomes: Sequence[EventOutcome] | None
    ) -> None:
        """Record the refused events as dead letters (on ``connection``, or on their own when None)."""
        refused = {outcome.event_id: outcome for outcome in outcomes or () if outcome.refused}
        if not refused:
            return
        if self._dead_letters is None:
            raise RuntimeError(
                f"{len(refused)} events of {self._table.name} were refused and it keeps no dead letters"
            )
        self._dead_letters.record(connection, [e for e in events if e.event_id in refused], refused)
        self.dead_lettered += len(refused)

    def dead_count(self) -> int | None:
        """Events set aside as dead letters (None for an outbox that keeps none)."""
        return None if self._dead_letters is None else self._dead_letters.count()

    def _mark(self, connection: Any, rows: Sequence[Any]) -> None:
        table = self._table
        connection.execute(
            update(table)
            .where(table.c.id.in_([row.id for row in rows]))
            .values(published_at=datetime.now(UTC).replace(tzinfo=None))
        )

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                count = self.run_once()
            except Exception:
                log.exception("relay batch failed; retrying")
                stop.wait(1.0)
                continue
            if count < self.batch_size:
                stop.wait(self.poll_interval)

    def backlog(self) -> tuple[int, datetime | None]:
        """Unpublished rows and the oldest one's ``occurred_at`` (aware UTC)."""
        table = self._table
        cursor = self._cursor
        pending = table.c.published_at.is_(None) if cursor is None else table.c.id > cursor.load()
        with self._engine.connect() as connection:
            row = connection.execute(
                select(func.count().label("pending"), func.min(table.c.occurred_at).label("oldest")).where(
                    pending
                )
            ).one()
        oldest: datetime | None = row.oldest
        return int(row.pending), (_aware(oldest) if oldest is not None else None)
