"""The orders' outbox events: ``order.*`` with the ``tbl_order`` row and its lines."""

from __future__ import annotations

from typing import Any

from legacy_monolith.catalog.events import column_value
from legacy_monolith.orders.models import Order
from strangler_django.models import OutboxEvent
from strangler_django.outbox import record_event

__all__ = ["order_event_record", "order_snapshot"]


def order_snapshot(*, order: Order) -> dict[str, Any]:
    """The ``tbl_order`` row of ``order`` with its ``tbl_order_line`` rows under ``lines``."""
    return {
        "ord_id": order.ord_id,
        "ord_no": order.ord_no,
        "cust_id": order.cust_id,
        "ord_sts": order.ord_sts,
        "tot_amt": order.tot_amt,
        "ord_dt": column_value(order.ord_dt),
        "lines": [
            {"line_id": line.line_id, "prd_id": line.prd_id, "qty": line.qty, "unit_prc": line.unit_prc}
            for line in order.lines.order_by("line_id")
        ],
    }


def order_event_record(*, order: Order, event_type: str, origin: str | None = None) -> OutboxEvent:
    """``order.placed`` / ``order.status_changed`` with the order and its lines as they are now."""
    return record_event("order", order.ord_id, event_type, order_snapshot(order=order), origin=origin)
