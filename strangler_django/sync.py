"""Applying reverse-sync events: idempotent by event id, in order per origin and aggregate.

An event (the monolith's vocabulary, as the toolkit's anti-corruption layer writes it)::

    {"event_id": "<uuid>", "origin": "catalog", "aggregate_type": "product", "aggregate_id": "17",
     "sequence": 4, "type": "product.updated", "payload": {...}}

The project's ``Applier`` for the aggregate type changes its rows; the inbox row (``AppliedEvent``), the
change and its outbox event commit together. A batch reads what its events need once: each applier's
``prepare`` (rows locked first, as every writer of an aggregate locks it first), then the recorded event
ids and the last applied sequence of every stream, in two queries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction

from strangler_django.appliers import (
    AlreadyApplied,
    Applier,
    NotApplied,
    ReverseEvent,
    ReverseEventError,
    UnknownAggregate,
    configured_appliers,
)
from strangler_django.models import AppliedEvent
from strangler_django.outbox import last_sequences, own_origin, utc_now

__all__ = ["ReverseEventError", "SyncBatch", "UnknownAggregate", "sync_batch_read", "sync_event_apply"]

_ORIGIN = re.compile(r"[a-z][a-z0-9_-]{0,39}")
Stream = tuple[str, str, str]


def _require(data: dict[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(field)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReverseEventError(field, f"{field} is missing or has the wrong type.")
    return value


class SyncBatch:
    """The appliers of one batch and what it read of the inbox; ``read`` it inside the transaction."""

    def __init__(self, appliers: dict[str, Applier]) -> None:
        self.appliers = appliers
        self._recorded: set[uuid.UUID] = set()
        self._last_applied: dict[Stream, int] = {}

    @classmethod
    def read(cls, events: Iterable[ReverseEvent], appliers: dict[str, Applier]) -> SyncBatch:
        batch = cls(appliers)
        wanted = list(events)
        # The appliers' rows first: a concurrent batch on PostgreSQL waits there until this one commits,
        # so the inbox read next includes what it recorded.
        for aggregate_type, applier in appliers.items():
            mine = [event for event in wanted if event.aggregate_type == aggregate_type]
            if mine:
                applier.prepare(mine)
        ids = {event.event_id for event in wanted}
        if ids:
            batch._recorded = set(
                AppliedEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True)
            )
        found = last_sequences(
            AppliedEvent._meta.db_table,
            ("origin", "aggregate_type", "aggregate_id"),
            sorted({event.stream for event in wanted}),
            applied_only=True,
        )
        batch._last_applied = {(key[0], key[1], key[2]): last for key, last in found.items()}
        return batch

    def parse(self, event: Any) -> ReverseEvent:
        """The event checked and parsed; ``ReverseEventError`` names the first bad field."""
        if not isinstance(event, dict):
            raise ReverseEventError("event", "an event must be a JSON object.")
        try:
            event_id = uuid.UUID(str(_require(event, "event_id", str)))
        except ValueError:
            raise ReverseEventError("event_id", "event_id must be a UUID.") from None
        origin = _require(event, "origin", str)
        own = own_origin()
        if not _ORIGIN.fullmatch(origin) or origin == own:
            raise ReverseEventError("origin", f"origin must be a service's tag (lowercase), not {own!r}.")
        aggregate_type = _require(event, "aggregate_type", str)
        event_type = _require(event, "type", str)
        applier = self.appliers.get(aggregate_type)
        if applier is None or event_type not in applier.event_types:
            raise ReverseEventError("type", f"unsupported event {aggregate_type}/{event_type}.")
        key = applier.parse_key(event_type, _require(event, "aggregate_id", (str, int)))
        sequence = _require(event, "sequence", int)
        payload = _require(event, "payload", dict)
        return ReverseEvent(event_id, origin, aggregate_type, event_type, key, sequence, payload)

    def apply(self, raw: Any) -> str:
        """Apply one event of the batch: "applied", "duplicate" (seen before) or "stale" (older)."""
        event = self.parse(raw)
        if event.event_id in self._recorded:
            return "duplicate"
        applier = self.appliers[event.aggregate_type]
        if applier.already_applied(event):
            return "duplicate"
        try:
            outcome = self._record_and_apply(event, applier)
        except AlreadyApplied:
            return "duplicate"
        except NotApplied as exc:  # nothing recorded: the same event is evaluated again next time
            return exc.outcome
        except IntegrityError:
            if AppliedEvent.objects.filter(event_id=event.event_id).exists():
                return "duplicate"
            if applier.already_applied(event):
                return "duplicate"
            raise
        self._recorded.add(event.event_id)
        if outcome == "applied":
            self._last_applied[event.stream] = event.sequence
        return outcome

    def _record_and_apply(self, event: ReverseEvent, applier: Applier) -> str:
        """The inbox row and the change, in a savepoint: a refused event leaves nothing behind."""
        try:
            with transaction.atomic():
                last = self._last_applied.get(event.stream)
                outcome = "stale" if last is not None and event.sequence <= last else "applied"
                if event.payload.get("stk_delta") is not None or event.payload.get("sync_force") is True:
                    # a stock move commutes, an operator's resolution is final: applied once (by its
                    # id) in any order
                    outcome = "applied"
                # The inbox row goes first: a concurrent redelivery fails on its key before changing anything.
                AppliedEvent.objects.create(
                    event_id=event.event_id,
                    origin=event.origin,
                    aggregate_type=event.aggregate_type,
                    aggregate_id=str(event.key),
                    sequence=event.sequence,
                    event_type=event.event_type,
                    outcome=outcome,
                    applied_at=utc_now(),
                )
                if outcome == "applied":
                    parked = applier.apply(event)
                    if parked:  # e.g. "conflict": recorded as such, the change waits in sync_conflict
                        outcome = parked
                        AppliedEvent.objects.filter(event_id=event.event_id).update(outcome=outcome)
        except BaseException:
            applier.discard(event)
            raise
        return outcome


def sync_batch_read(events: Sequence[Any]) -> SyncBatch:
    """A batch for ``events`` with the configured appliers; call inside the batch's transaction.

    Malformed events are left out of the reads; ``SyncBatch.apply`` refuses them one by one.
    """
    appliers = {name: applier() for name, applier in configured_appliers().items()}
    batch = SyncBatch(appliers)
    parsed = []
    for event in events:
        try:
            parsed.append(batch.parse(event))
        except ReverseEventError:
            continue
    return SyncBatch.read(parsed, appliers)


def sync_event_apply(*, event: dict[str, Any], batch: SyncBatch | None = None) -> str:
    """Apply ``event`` once; return "applied", "duplicate" or "stale".

    In a batch, pass what ``sync_batch_read`` read for it (inside the same transaction); alone, the
    event gets a transaction and a batch of its own.
    """
    if batch is None:
        with transaction.atomic():
            return sync_event_apply(event=event, batch=sync_batch_read([event]))
    return batch.apply(event)
