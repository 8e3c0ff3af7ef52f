"""The catalog's outbox events: ``product.*`` with the ``tbl_product`` row, recorded through strangler_django.

Payloads keep the legacy vocabulary (the table's column names); times inside payloads are the table's
naive Europe/Berlin wall-clock values in ISO 8601, exactly as stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from legacy_monolith.catalog.models import Product
from strangler_django.models import OutboxEvent, StockVersion
from strangler_django.outbox import record_event
from strangler_django.versions import aggregate_version_next

__all__ = [
    "FIELD_COLUMNS",
    "PRODUCT_COLUMNS",
    "column_value",
    "fields_event_record",
    "product_event_record",
    "product_snapshot",
    "stock_event_record",
    "stock_version_next",
]

PRODUCT_COLUMNS = (
    "prd_id",
    "prd_cd",
    "prd_nm",
    "prd_desc",
    "unit_prc",
    "stk_qty",
    "sts_cd",
    "ctg_id",
    "cat_path",
    "crt_dt",
    "upd_dt",
)


FIELD_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "sts_cd", "cat_path")
"""The columns whose changes are versioned as the product's fields (its stock has a version of its own)."""


def column_value(value: Any) -> Any:
    """A column's value as JSON: times in ISO 8601, the rest as stored."""
    return value.isoformat() if isinstance(value, datetime) else value


def product_snapshot(*, product: Product) -> dict[str, Any]:
    """The ``tbl_product`` row of ``product`` as a JSON object."""
    return {name: column_value(getattr(product, name)) for name in PRODUCT_COLUMNS}


def product_event_record(
    *, product: Product, event_type: str, origin: str | None = None, sequence: int | None = None
) -> OutboxEvent:
    """``product.created`` / ``product.updated`` / ``product.stock_changed`` with the row as it is now."""
    return record_event(
        "product",
        product.prd_id,
        event_type,
        product_snapshot(product=product),
        origin=origin,
        sequence=sequence,
    )


def stock_version_next(*, prd_id: int) -> int:
    """Count one more stock change of the product (its row is locked by the caller's change); the
    version now."""
    key = str(prd_id)
    row = StockVersion.objects.select_for_update().filter(aggregate_id=key).first()
    version = (row.version if row is not None else 0) + 1
    StockVersion.objects.update_or_create(aggregate_id=key, defaults={"version": version})
    return version


def stock_event_record(
    *,
    product: Product,
    delta: int | None,
    origin: str | None = None,
    sequence: int | None = None,
    event_type: str = "product.stock_changed",
    version: int | None = None,
) -> OutboxEvent:
    """A stock change as a change: the row as it is now plus ``stk_delta`` (the signed move; None when the
    level was set, which does not commute) and ``stk_ver``, the product's stock version it made (counted
    here unless ``version`` says it was). The other side applies a move exactly once whatever happened
    there meanwhile, and a level only when it is at ``stk_ver - 1`` (else it parks it as a conflict)."""
    made = stock_version_next(prd_id=product.prd_id) if version is None else version
    payload = {**product_snapshot(product=product), "stk_delta": delta, "stk_ver": made}
    return record_event("product", product.prd_id, event_type, payload, origin=origin, sequence=sequence)


def fields_event_record(
    *,
    product: Product,
    changed: list[str],
    origin: str | None = None,
    sequence: int | None = None,
    event_type: str = "product.updated",
    version: int | None = None,
    force: bool = False,
    stock_set: bool = False,
) -> OutboxEvent:
    """A change of the product's other fields as a change: the row as it is now plus ``prd_changed`` (the
    columns changed) and ``prd_ver``, the product's fields version it made (counted here unless
    ``version`` says it was; ``internal_aggregate_version``, type ``product``). The other side applies it
    only when it is at ``prd_ver - 1``, else parks it as a conflict; ``force`` (an operator's resolution)
    applies whatever the version. ``stock_set``: the same change set the stock level too (it travels
    in the same event, with its own stock version, as ``stock_event_record`` writes it)."""
    made = aggregate_version_next("product", product.prd_id) if version is None else version
    payload = {**product_snapshot(product=product), "prd_ver": made, "prd_changed": list(changed)}
    if stock_set:
        payload.update(stk_delta=None, stk_ver=stock_version_next(prd_id=product.prd_id))
    if force:
        payload["sync_force"] = True
    return record_event("product", product.prd_id, event_type, payload, origin=origin, sequence=sequence)
