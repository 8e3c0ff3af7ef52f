"""The consumer's inbox: which events it has applied, and the last sequence applied per aggregate.

``Inbox.classify`` decides for a batch, in delivery order:

* ``duplicate``  the event id was recorded before (redelivery) -> dropped;
* ``stale``      its sequence is not above the aggregate's last applied one -> dropped;
* ``hold``       a gap (an earlier event of the same aggregate has not come yet) -> kept back;
* ``apply``      everything else.

Events carry the aggregate's full state, so a gap that never fills is bridged after ``hold_timeout``
by applying the later event (a lost earlier state is superseded anyway).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, tuple_, update

from acl.sync.core.events import SyncEvent
from acl.sync.core.tables import sync_aggregates, sync_inbox

__all__ = ["Decision", "HeldEvents", "Inbox", "Outcome"]

Outcome = str  # "applied" | "echo" | "ignored" | "rejected" | "stale" | "duplicate"


@dataclass(frozen=True, slots=True)
class Decision:
    event: SyncEvent
    action: str  # "apply" | "hold" | "stale" | "duplicate"


class Inbox:
    def __init__(self, engine: Engine, consumer: str) -> None:
        self._engine = engine
        self.consumer = consumer

    def classify(self, events: Sequence[SyncEvent]) -> list[Decision]:
        if not events:
            return []
        keys = {event.aggregate_key for event in events}
        with self._engine.connect() as connection:
            seen = set(
                connection.scalars(
                    select(sync_inbox.c.event_id).where(
                        sync_inbox.c.consumer == self.consumer,
                        sync_inbox.c.event_id.in_([event.event_id for event in events]),
                    )
                )
            )
            last: dict[tuple[str, str], int] = {}
            for chunk in _chunks(sorted(keys), 400):
                rows = connection.execute(
                    select(
                        sync_aggregates.c.aggregate_type,
                        sync_aggregates.c.aggregate_id,
                        sync_aggregates.c.sequence,
                    ).where(
                        sync_aggregates.c.consumer == self.consumer,
                        tuple_(sync_aggregates.c.aggregate_type, sync_aggregates.c.aggregate_id).in_(chunk),
                    )
                )
                last.update({(row.aggregate_type, row.aggregate_id): row.sequence for row in rows})
        decisions: list[Decision] = []
        for event in events:
            previous = last.get(event.aggregate_key)
            if event.event_id in seen:
                action = "duplicate"
            elif previous is not None and event.sequence <= previous:
                action = "stale"
            elif previous is not None and event.sequence > previous + 1:
                action = "hold"
            else:
                action = "apply"
                last[event.aggregate_key] = event.sequence
                seen.add(event.event_id)
            decisions.append(Decision(event, action))
        return decisions

    def seed(self, sequences: dict[tuple[str, str], int]) -> None:
        """A backfill copied these aggregates as of these sequences: events up to them are stale here (an
        aggregate's sequence only moves forward)."""
        if not sequences:
            return
        with self._engine.begin() as connection:
            existing = {
                (row.aggregate_type, row.aggregate_id): row.sequence
                for chunk in _chunks(sorted(sequences), 400)
                for row in connection.execute(
                    select(sync_aggregates).where(
                        sync_aggregates.c.consumer == self.consumer,
                        tuple_(sync_aggregates.c.aggregate_type, sync_aggregates.c.aggregate_id).in_(chunk),
                    )
                )
            }
            fresh = {key: seq for key, seq in sequences.items() if key not in existing}
            for key, sequence in sequences.items():
                if key in existing and sequence > existing[key]:
                    connection.execute(
                        update(sync_aggregates)
                        .where(
                            sync_aggregates.c.consumer == self.consumer,
                            sync_aggregates.c.aggregate_type == key[0],
                            sync_aggregates.c.aggregate_id == key[1],
                        )
                        .values(sequence=sequence)
                    )
            if fresh:
                connection.execute(insert(sync_aggregates), _seed_rows(self.consumer, fresh))

    def record(self, outcomes: Iterable[tuple[SyncEvent, Outcome]], *, now: datetime | None = None) -> None:
        """Remember the events and advance their aggregates' sequences, in one transaction."""
        items = [(event, outcome) for event, outcome in outcomes if outcome != "duplicate"]
        if not items:
            return
        applied_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        latest: dict[tuple[str, str], int] = {}
        for event, outcome in items:
            if outcome != "stale":
                latest[event.aggregate_key] = max(latest.get(event.aggregate_key, 0), event.sequence)
        with self._engine.begin() as connection:
            connection.execute(
                insert(sync_inbox),
                [
                    {
                        "consumer": self.consumer,
                        "event_id": event.event_id,
                        "outcome": outcome,
                        "occurred_at": event.occurred_at.astimezone(UTC).replace(tzinfo=None),
                        "applied_at": applied_at,
                    }
                    for event, outcome in items
                ],
            )
            if not latest:
                return
            existing = {
                (row.aggregate_type, row.aggregate_id): row.sequence
                for chunk in _chunks(sorted(latest), 400)
                for row in connection.execute(
                    select(sync_aggregates).where(
                        sync_aggregates.c.consumer == self.consumer,
                        tuple_(sync_aggregates.c.aggregate_type, sync_aggregates.c.aggregate_id).in_(chunk),
                    )
                )
            }
            new_rows = []
            for key, sequence in latest.items():
                if key not in existing:
                    new_rows.append(
                        {
                            "consumer": self.consumer,
                            "aggregate_type": key[0],
                            "aggregate_id": key[1],
                            "sequence": sequence,
                        }
                    )
                elif sequence > existing[key]:
                    connection.execute(
                        update(sync_aggregates)
                        .where(
                            sync_aggregates.c.consumer == self.consumer,
                            sync_aggregates.c.aggregate_type == key[0],
                            sync_aggregates.c.aggregate_id == key[1],
                        )
                        .values(sequence=sequence)
                    )
            if new_rows:
                connection.execute(insert(sync_aggregates), new_rows)


def _seed_rows(consumer: str, sequences: dict[tuple[str, str], int]) -> list[dict[str, object]]:
    return [
        {"consumer": consumer, "aggregate_type": key[0], "aggregate_id": key[1], "sequence": sequence}
        for key, sequence in sequences.items()
    ]


class HeldEvents:
    """Events waiting for a gap to fill, with the time each was first held."""

    def __init__(self, hold_timeout: float) -> None:
        self.hold_timeout = hold_timeout
        self._held: dict[str, tuple[float, SyncEvent]] = {}

    def add(self, event: SyncEvent) -> None:
        self._held.setdefault(event.event_id, (time.monotonic(), event))

    def take_all(self) -> list[SyncEvent]:
        events = [event for _, event in sorted(self._held.values(), key=lambda item: item[1].sequence)]
        return events

    def expired(self, event: SyncEvent) -> bool:
        since = self._held.get(event.event_id)
        return since is not None and time.monotonic() - since[0] >= self.hold_timeout

    def discard(self, event: SyncEvent) -> None:
        self._held.pop(event.event_id, None)

    def __len__(self) -> int:
        return len(self._held)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
