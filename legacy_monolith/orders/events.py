"""The orders' outbox events: ``order.*`` with the ``tbl_order`` row and its lines, and ``ord_ver``: the
order's version this change made (``strangler_django.versions``; the other side applies a change only
when it is one behind, and parks it as a conflict otherwise)."""

from __future__ import annotations

from typing import Any

from legacy_monolith.catalog.events import column_value
from legacy_monolith.orders.models import Order
from strangler_django.models import OutboxEvent
from strangler_django.outbox import record_event
from strangler_django.versions import aggregate_version_next

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
    """``order.placed`` / ``order.status_changed`` with the order and its lines as they are now, counted
    as one more change of the order (``ord_ver``); call it inside the change's transaction."""
    payload = {**order_snapshot(order=order), "ord_ver": aggregate_version_next("order", order.ord_id)}
    return record_event("order", order.ord_id, event_type, payload, origin=origin)
