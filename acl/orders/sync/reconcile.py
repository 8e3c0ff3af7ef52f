"""Reconcile orders: both sides by order number, compared over what both sides hold as history.

The legacy side is read through the translators, the service through ``OrdersPort.order_records``.
Compared: customer, status, the time ordered (to the second: the monolith keeps no fractions), total,
currency and the lines' product, quantity and unit price. Not compared: the lines' SKU and name — the
monolith's order lines do not keep them (it shows the product's current ones), the service keeps the
ones of the day of the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from acl.orders.records import OrderRecord
from acl.orders.source import LegacyOrderSource
from acl.orders.sync.port import OrdersPort
from acl.sync.core.reconcile import Difference, ReconcileReport, translated_records

__all__ = [
    "order_history",
    "reconcile_order_records",
    "reconcile_orders",
]


def order_history(record: OrderRecord) -> dict[str, Any]:
    """The fields both sides keep for an order, as plain values."""
    return {
        "customer_user_id": record.customer_user_id,
        "status": record.status.value,
        "ordered_at": record.ordered_at.replace(microsecond=0).isoformat(),
        "total": f"{record.total:.2f}",
        "currency": record.currency,
        "lines": [[line.product_id, line.quantity, f"{line.unit_price:.2f}"] for line in record.lines],
    }


def reconcile_order_records(legacy: Iterable[OrderRecord], service: Iterable[OrderRecord]) -> ReconcileReport:
    """The legacy side is held as one small dict per order; the service side is streamed past it."""
    report = ReconcileReport(key_name="order_no")
    held: dict[str, dict[str, Any]] = {}
    for record in legacy:
        report.legacy_count += 1
        held[record.order_no] = order_history(record)
    for record in service:
        report.service_count += 1
        theirs = held.pop(record.order_no, None)
        if theirs is None:
            report.differences.append(Difference(record.order_no, "missing_in_legacy"))
            continue
        ours = order_history(record)
        changed = tuple(key for key in theirs if theirs[key] != ours[key])
        if changed:
            report.differences.append(Difference(record.order_no, "different", changed))
    report.differences.extend(Difference(order_no, "missing_in_service") for order_no in sorted(held))
    report.differences.sort(key=lambda item: str(item.key))
    return report


def reconcile_orders(
    source: LegacyOrderSource, port: OrdersPort, *, batch_size: int = 2000
) -> ReconcileReport:
    rejected: list[object] = []
    legacy: Iterator[OrderRecord] = translated_records(source, batch_size=batch_size, rejected=rejected)
    report = reconcile_order_records(legacy, port.order_records(batch_size=batch_size))
    report.rejected_legacy_ids = rejected
    return report
