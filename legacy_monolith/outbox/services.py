"""Service functions that record outbox events; call them inside the business change's transaction.

Payloads keep the legacy vocabulary (the tables' column names); times inside payloads are the tables'
naive Europe/Berlin wall-clock values in ISO 8601, exactly as stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.models import Order
from legacy_monolith.outbox.models import OutboxEvent

__all__ = [
    "LEGACY_ORIGIN",
    "order_event_record",
    "order_snapshot",
    "outbox_event_record",
    "product_event_record",
    "product_snapshot",
    "stock_event_record",
    "stock_version_next",
]

LEGACY_ORIGIN = "legacy"
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


def _column(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def product_snapshot(*, product: Product) -> dict[str, Any]:
    """The ``tbl_product`` row of ``product`` as a JSON object."""
    return {name: _column(getattr(product, name)) for name in PRODUCT_COLUMNS}


def order_snapshot(*, order: Order) -> dict[str, Any]:
    """The ``tbl_order`` row of ``order`` with its ``tbl_order_line`` rows under ``lines``."""
    return {
        "ord_id": order.ord_id,
        "ord_no": order.ord_no,
        "cust_id": order.cust_id,
        "ord_sts": order.ord_sts,
        "tot_amt": order.tot_amt,
        "ord_dt": _column(order.ord_dt),
        "lines": [
            {"line_id": line.line_id, "prd_id": line.prd_id, "qty": line.qty, "unit_prc": line.unit_prc}
            for line in order.lines.order_by("line_id")
        ],
    }


def outbox_event_record(
    *,
    aggregate_type: str,
    aggregate_id: int | str,
    event_type: str,
    payload: dict[str, Any],
    origin: str = LEGACY_ORIGIN,
    sequence: int | None = None,
) -> OutboxEvent:
    """Append one event; the per-aggregate sequence continues from the last one.

    Must run inside the transaction of the change it describes (it refuses otherwise): the aggregate's
    row is already locked by that change, so concurrent writers get consecutive sequences. A caller
    that already knows the next ``sequence`` (read under that lock) passes it and saves the query.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox events must be recorded inside the business change's transaction")
    key = str(aggregate_id)
    if sequence is None:
        last = (
            OutboxEvent.objects.filter(aggregate_type=aggregate_type, aggregate_id=key)
            .order_by("-sequence")
            .values_list("sequence", flat=True)
            .first()
        )
        sequence = (last or 0) + 1
    return OutboxEvent.objects.create(
        aggregate_type=aggregate_type,
        aggregate_id=key,
        sequence=sequence,
        event_type=event_type,
        payload=payload,
        occurred_at=datetime.now(UTC).replace(tzinfo=None),
        origin=origin,
    )


def product_event_record(
    *, product: Product, event_type: str, origin: str = LEGACY_ORIGIN, sequence: int | None = None
) -> OutboxEvent:
    """``product.created`` / ``product.updated`` / ``product.stock_changed`` with the row as it is now."""
    return outbox_event_record(
        aggregate_type="product",
        aggregate_id=product.prd_id,
        event_type=event_type,
        payload=product_snapshot(product=product),
        origin=origin,
        sequence=sequence,
    )


def stock_version_next(*, prd_id: int) -> tuple[int, int]:
    """Count one more stock change of the product (the row is locked by the caller's change): returns
    (the version before, the version now)."""
    # Imported here: the internal app's models import this app's field type.
    from legacy_monolith.internal.models import StockVersion

    key = str(prd_id)
    row = StockVersion.objects.select_for_update().filter(aggregate_id=key).first()
    before = row.version if row is not None else 0
    StockVersion.objects.update_or_create(aggregate_id=key, defaults={"version": before + 1})
    return before, before + 1


def stock_event_record(
    *,
    product: Product,
    delta: int | None,
    origin: str = LEGACY_ORIGIN,
    sequence: int | None = None,
    event_type: str = "product.stock_changed",
) -> OutboxEvent:
    """A stock change as a change: the row as it is now plus ``stk_delta`` (the signed move; None when
    the level was set, which does not commute) and ``stk_ver``, the product's stock version it made.

    The other side applies a move exactly once whatever happened there meanwhile, and a level only when
    it is at ``stk_ver - 1`` (else the level waits in its conflict queue)."""
    _before, version = stock_version_next(prd_id=product.prd_id)
    payload = {**product_snapshot(product=product), "stk_delta": delta, "stk_ver": version}
    return outbox_event_record(
        aggregate_type="product",
        aggregate_id=product.prd_id,
        event_type=event_type,
        payload=payload,
        origin=origin,
        sequence=sequence,
    )


def order_event_record(*, order: Order, event_type: str, origin: str = LEGACY_ORIGIN) -> OutboxEvent:
    """``order.placed`` / ``order.status_changed`` with the order and its lines as they are now."""
    return outbox_event_record(
        aggregate_type="order",
        aggregate_id=order.ord_id,
        event_type=event_type,
        payload=order_snapshot(order=order),
        origin=origin,
    )
