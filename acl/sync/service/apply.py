"""Forward sync into a service: the monolith's events applied by the service's own appliers, exactly once.

The generic forward consumer (``python -m acl.sync forward``, started by `strangler up` for each service
in strangler.toml's ``[sync] forward``) posts batches of the monolith's outbox events to the service's
``POST /internal/sync/apply`` (the service kit's ``forward_endpoint``, which hands the batch to
``ForwardInbox.apply``: the service wires them in its bootstrap). ``ForwardInbox.apply`` takes each
event in the order sent: an event id already in ``service_inbox`` is a ``duplicate``; a sequence at or
below the last one applied for its stream (origin, aggregate type, aggregate id) is ``stale``; an
aggregate no applier is registered for is ``ignored``; else the applier changes the service's rows and
the inbox row is written in the same transaction (``applied``). An applier refuses an event for good by
raising ``ForwardEventError`` (the consumer records it ``rejected`` and goes on); any other error rolls
back the event and fails the request, so that the batch comes again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection, Engine, func, insert, select

from acl.sync.core.events import SyncEvent
from acl.sync.service.inbox import service_inbox

__all__ = ["ForwardApplier", "ForwardEventError", "ForwardInbox"]


class ForwardEventError(ValueError):
    """The event cannot be applied, now or ever (a bad payload): refused, never retried."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ForwardApplier(Protocol):
    """Applies one aggregate's events of the monolith to the service's tables, on ``connection`` (the
    transaction that records the event in the inbox)."""

    aggregate_type: ClassVar[str]
    event_types: ClassVar[frozenset[str]]

    def apply(self, connection: Connection, event: SyncEvent) -> None: ...


def _registry(appliers: Iterable[ForwardApplier]) -> dict[str, ForwardApplier]:
    registry: dict[str, ForwardApplier] = {}
    for applier in appliers:
        if applier.aggregate_type in registry:
            raise ValueError(f"two appliers for the aggregate {applier.aggregate_type!r}: register one")
        registry[applier.aggregate_type] = applier
    return registry


class ForwardInbox:
    """The service's side of forward sync: its appliers, by aggregate type, over its database."""

    def __init__(self, engine: Engine, appliers: Iterable[ForwardApplier]) -> None:
        self._engine = engine
        self.appliers = _registry(appliers)

    def apply(self, raw_events: Sequence[Any]) -> list[dict[str, Any]]:
        """One result per event, in order: ``{"event_id", "outcome"}`` or ``{"event_id", "error"}``."""
        return [self._apply_one(raw) for raw in raw_events]

    def _apply_one(self, raw: Any) -> dict[str, Any]:
        event_id = str(raw.get("event_id", "")) if isinstance(raw, dict) else ""
        try:
            event = SyncEvent.from_dict(raw if isinstance(raw, dict) else {})
        except ValueError as exc:
            return {"event_id": event_id, "error": {"field": "event", "message": str(exc)}}
        applier = self.appliers.get(event.aggregate_type)
        if applier is None or event.type not in applier.event_types:
            return {"event_id": event.event_id, "outcome": "ignored"}
        try:
            with self._engine.begin() as connection:
                outcome = self._settled(connection, event)
                if outcome is None:
                    applier.apply(connection, event)
                    _record(connection, event)
                    outcome = "applied"
        except ForwardEventError as exc:
            return {"event_id": event.event_id, "error": {"field": exc.field, "message": exc.message}}
        return {"event_id": event.event_id, "outcome": outcome}

    @staticmethod
    def _settled(connection: Connection, event: SyncEvent) -> str | None:
        """``duplicate`` or ``stale`` when the event must not be applied, else None."""
        inbox = service_inbox.c
        seen = connection.scalar(select(inbox.event_id).where(inbox.event_id == event.event_id))
        if seen is not None:
            return "duplicate"
        last = connection.scalar(
            select(func.max(service_inbox.c.sequence)).where(
                service_inbox.c.origin == event.origin,
                service_inbox.c.aggregate_type == event.aggregate_type,
                service_inbox.c.aggregate_id == event.aggregate_id,
            )
        )
        return "stale" if last is not None and event.sequence <= int(last) else None


def _record(connection: Connection, event: SyncEvent) -> None:
    connection.execute(
        insert(service_inbox).values(
            event_id=event.event_id,
            origin=event.origin,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            sequence=event.sequence,
            event_type=event.type,
            applied_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
