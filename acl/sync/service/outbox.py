"""Reverse sync, the service's half: record changes in the service's own outbox, in its transaction.

The service calls ``record_service_event`` (or an aggregate's own recorder built on it, in its pipeline's
package) inside the transaction that changed the
aggregate; the reverse relay (``python -m acl.sync reverse``) sends the rows to the monolith's
``/internal/sync/apply``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from acl.sync.core.positions import note_event
from acl.sync.core.tables import service_outbox, service_outbox_metadata
from acl.tracing import TRACE_KEY, current_trace_context

__all__ = ["create_service_outbox", "record_service_event"]


def create_service_outbox(connection: Connection) -> None:
    """Create ``service_outbox`` in the service's database if it is missing."""
    service_outbox_metadata.create_all(connection, checkfirst=True)


def record_service_event(
    connection: Connection,
    *,
    aggregate_type: str,
    aggregate_id: int | str,
    event_type: str,
    payload: dict[str, Any],
    origin: str,
) -> str:
    """Append one event with the aggregate's next sequence; returns its event id. Inside a traced
    transaction the trace context is kept with the payload (``_trace``), so the relay's apply in the
    monolith joins the trace of the request that wrote the event."""
    trace = current_trace_context()
    if trace:
        payload = {**payload, TRACE_KEY: trace}
    key = str(aggregate_id)
    last = connection.scalar(
        select(func.max(service_outbox.c.sequence)).where(
            service_outbox.c.aggregate_type == aggregate_type, service_outbox.c.aggregate_id == key
        )
    )
    event_id = str(uuid.uuid4())
    connection.execute(
        insert(service_outbox).values(
            event_id=event_id,
            aggregate_type=aggregate_type,
            aggregate_id=key,
            sequence=int(last or 0) + 1,
            event_type=event_type,
            payload=payload,
            occurred_at=datetime.now(UTC).replace(tzinfo=None),
            origin=origin,
            published_at=None,
        )
    )
    note_event(event_id)
    return event_id
