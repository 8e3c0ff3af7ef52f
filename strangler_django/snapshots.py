"""Forward backfill: one outbox event per row the monolith already had, through the same pipe as changes.

Forward sync carries the outbox's events, so rows written before the write paths called ``record_event``
never reach a service. Register, per aggregate, how to read its rows and turn one into the payload its
change events carry (in the project's ``AppConfig.ready``)::

    from strangler_django.snapshots import register_snapshot

    def thing_payload(thing):
        return {"id": thing.pk, "name": thing.name}

    register_snapshot("things", lambda: Thing.objects.all(), thing_payload)

then ``python manage.py strangler_backfill things`` records a ``things.snapshot`` event per row (its
current state, under its primary key), in batches, each batch in a transaction with its rows locked.
A snapshot takes the next sequence of the row's aggregate, so a change made after it comes after it in
the stream; the service applies a snapshot as an upsert, and running the command again sends the
current state again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, QuerySet

from strangler_django.models import OutboxEvent
from strangler_django.outbox import last_outbox_sequences, own_origin, utc_now

__all__ = ["Snapshot", "UnknownSnapshot", "backfill", "register_snapshot", "registered_snapshots"]

_AGGREGATE_MAX = OutboxEvent._meta.get_field("aggregate_type").max_length or 30
_EVENT_TYPE_MAX = OutboxEvent._meta.get_field("event_type").max_length or 50
_ATTEMPTS = 3


class UnknownSnapshot(LookupError):
    """No snapshot is registered for the aggregate; the message names those that are."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """How to snapshot one aggregate: its rows (a fresh queryset each call) and one row's payload."""

    aggregate: str
    queryset: Callable[[], QuerySet[Any]]
    to_payload: Callable[[Any], dict[str, Any]]
    event_type: str


_REGISTRY: dict[str, Snapshot] = {}


def register_snapshot(
    aggregate: str,
    queryset: Callable[[], QuerySet[Any]],
    to_payload: Callable[[Any], dict[str, Any]],
    *,
    event_type: str | None = None,
) -> Snapshot:
    """Register how ``aggregate``'s existing rows are snapshotted (call it from ``AppConfig.ready``).

    ``queryset`` returns the rows to send (a queryset of the aggregate's model, the event's aggregate id
    is each row's primary key); ``to_payload(row)`` returns the payload of the aggregate's change
    events. The events are of type ``event_type`` (default ``<aggregate>.snapshot``). Registering the
    same aggregate again with other functions is refused.
    """
    event_type = event_type or f"{aggregate}.snapshot"
    if not aggregate or len(aggregate) > _AGGREGATE_MAX:
        raise ImproperlyConfigured(f"register_snapshot: aggregate must be 1 to {_AGGREGATE_MAX} characters")
    if len(event_type) > _EVENT_TYPE_MAX:
        raise ImproperlyConfigured(f"register_snapshot: event type {event_type!r} is over {_EVENT_TYPE_MAX}")
    snapshot = Snapshot(aggregate, queryset, to_payload, event_type)
    known = _REGISTRY.get(aggregate)
    if known is not None and known != snapshot:
        raise ImproperlyConfigured(f"register_snapshot: aggregate {aggregate!r} is registered already")
    _REGISTRY[aggregate] = snapshot
    return snapshot


def registered_snapshots() -> dict[str, Snapshot]:
    """The registered snapshots by aggregate."""
    return dict(_REGISTRY)


def snapshot_for(aggregate: str) -> Snapshot:
    """``aggregate``'s snapshot, or ``UnknownSnapshot`` naming the registered aggregates."""
    snapshot = _REGISTRY.get(aggregate)
    if snapshot is None:
        names = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownSnapshot(
            f"no snapshot registered for aggregate {aggregate!r} (registered: {names}); call"
            " strangler_django.snapshots.register_snapshot in your app's AppConfig.ready()"
        )
    return snapshot


def _locked(rows: QuerySet[Any]) -> QuerySet[Any]:
    """``rows`` locked for the batch's transaction (only the aggregate's own table, where supported)."""
    if connection.features.has_select_for_update_of:
        return rows.select_for_update(of=("self",))
    return rows.select_for_update()


def _record_batch(snapshot: Snapshot, rows: list[Model]) -> None:
    """One snapshot event per row, each the next sequence of its aggregate (inside the transaction)."""
    keys = [str(row.pk) for row in rows]
    last = last_outbox_sequences(snapshot.aggregate, keys)
    now, origin = utc_now(), own_origin()
    OutboxEvent.objects.bulk_create(
        OutboxEvent(
            aggregate_type=snapshot.aggregate,
            aggregate_id=key,
            sequence=last.get(key, 0) + 1,
            event_type=snapshot.event_type,
            payload=snapshot.to_payload(row),
            occurred_at=now,
            origin=origin,
        )
        for key, row in zip(keys, rows, strict=True)
    )


def backfill(aggregate: str, *, batch: int = 500) -> Iterator[tuple[int, int]]:
    """Record a snapshot event for each of ``aggregate``'s rows, ``batch`` rows per transaction, in
    primary key order; yields (rows done, rows counted at the start) after each batch.

    Each batch locks its rows (``select_for_update``) before it reads the sequences, as a change
    recording its event does, so a change and a snapshot of one row take consecutive sequences.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    snapshot = snapshot_for(aggregate)
    total = snapshot.queryset().count()
    done, after = 0, None
    while rows := _snapshot_batch(snapshot, after, batch):
        done, after = done + len(rows), rows[-1].pk
        yield done, total


def _snapshot_batch(snapshot: Snapshot, after: Any, batch: int) -> list[Model]:
    """The next ``batch`` rows after primary key ``after``, snapshotted in one transaction (run again
    when a writer that did not lock its row took one of the batch's sequences first)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with transaction.atomic():
                rows_query = snapshot.queryset().order_by("pk")
                if after is not None:
                    rows_query = rows_query.filter(pk__gt=after)
                rows = list(_locked(rows_query)[:batch])
                if rows:
                    _record_batch(snapshot, rows)
                return rows
        except IntegrityError:
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")
