"""Reverse sync of the catalog, the service's half: a product change in the catalog's own outbox.

The catalog calls ``record_product_change(connection, record=..., origin="catalog")`` inside the
transaction that changed the product; the reverse relay (``python -m acl.sync reverse``) sends the
rows to the monolith's ``/internal/sync/apply``. Payloads are translated to the legacy vocabulary
here, so the service never spells a legacy column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_to_legacy_row
from acl.sync.service.outbox import record_service_event

__all__ = ["record_product_change"]

# What a service may change on a legacy product (identity, SKU and creation time stay the monolith's).
_PRODUCT_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "cat_path", "upd_dt")


def record_product_change(
    connection: Connection,
    *,
    record: ProductRecord,
    origin: str,
    columns: tuple[str, ...] = _PRODUCT_COLUMNS,
    extra: dict[str, Any] | None = None,
) -> str:
    """A ``product.updated`` event carrying ``columns`` of the product's legacy row, plus ``extra`` (a
    stock change's ``stk_delta`` and ``stk_ver``, see ``acl.sync.core.stock``)."""
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
