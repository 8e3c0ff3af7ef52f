"""Reverse sync, the service's half: record changes in the service's own outbox, in its transaction.

The service calls ``record_product_change(connection, record=..., origin="catalog")`` inside the
transaction that changed the product; the reverse relay (``python -m acl.sync reverse``) sends the
rows to the monolith's ``/internal/sync/apply``. Payloads are translated to the legacy vocabulary
here, so the service never spells a legacy column.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_to_legacy_row
from acl.sync.positions import note_event
from acl.sync.tables import service_outbox, service_outbox_metadata
from acl.tracing import TRACE_KEY, current_trace_context

__all__ = ["create_service_outbox", "record_product_change", "record_service_event"]

# What a service may change on a legacy product (identity, SKU and creation time stay the monolith's).
_PRODUCT_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "cat_path", "upd_dt")


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


def record_product_change(
    connection: Connection,
    *,
    record: ProductRecord,
    origin: str,
    columns: tuple[str, ...] = _PRODUCT_COLUMNS,
    extra: dict[str, Any] | None = None,
) -> str:
    """A ``product.updated`` event carrying ``columns`` of the product's legacy row, plus ``extra`` (a
    stock change's ``stk_delta`` and ``stk_ver``, see ``acl.sync.stock``)."""
    unknown = set(columns) - set(_PRODUCT_COLUMNS)
    if unknown:
        raise ValueError(f"a service may not change {sorted(unknown)} on a legacy product")
    row = product_to_legacy_row(record)
    payload: dict[str, Any] = {"prd_id": record.id}
    for column in columns:
        value = row[column]
        payload[column] = value.isoformat() if isinstance(value, datetime) else value
    payload.update(extra or {})
    return record_service_event(
        connection,
        aggregate_type="product",
        aggregate_id=record.id,
        event_type="product.updated",
        payload=payload,
        origin=origin,
    )
