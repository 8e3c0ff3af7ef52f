"""Reconcile orders: both sides by order number, compared over what both sides hold as history.

The legacy side is read through the translators, the service through ``OrdersPort.order_records``.
Compared: customer, status, the time ordered (to the second: the monolith keeps no fractions), total,
currency and the lines' product, quantity and unit price. Not compared: the lines' SKU and name — the
monolith's order lines do not keep them (it shows the product's current ones), the service keeps the
ones of the day of the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from acl.orders.records import OrderRecord
from acl.orders.source import LegacyOrderSource
from acl.sync.ports import OrdersPort

__all__ = [
    "OrderDifference",
    "OrdersReconcileReport",
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


@dataclass(frozen=True, slots=True)
class OrderDifference:
    order_no: str
    kind: str  # "missing_in_service" | "missing_in_legacy" | "different"
    fields: tuple[str, ...] = ()


@dataclass
class OrdersReconcileReport:
    legacy_count: int = 0
    service_count: int = 0
    rejected_legacy_ids: list[object] = field(default_factory=list)
    differences: list[OrderDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.rejected_legacy_ids

    def to_dict(self) -> dict[str, object]:
        return {
            "legacy_count": self.legacy_count,
            "service_count": self.service_count,
            "differences": [
                {"order_no": item.order_no, "kind": item.kind, "fields": list(item.fields)}
                for item in self.differences
            ],
            "rejected_legacy_ids": self.rejected_legacy_ids,
            "ok": self.ok,
        }


def reconcile_order_records(
    legacy: Iterable[OrderRecord], service: Iterable[OrderRecord]
) -> OrdersReconcileReport:
    """The legacy side is held as one small dict per order; the service side is streamed past it."""
    report = OrdersReconcileReport()
    held: dict[str, dict[str, Any]] = {}
    for record in legacy:
        report.legacy_count += 1
        held[record.order_no] = order_history(record)
    for record in service:
        report.service_count += 1
        theirs = held.pop(record.order_no, None)
        if theirs is None:
            report.differences.append(OrderDifference(record.order_no, "missing_in_legacy"))
            continue
        ours = order_history(record)
        changed = tuple(key for key in theirs if theirs[key] != ours[key])
        if changed:
            report.differences.append(OrderDifference(record.order_no, "different", changed))
    report.differences.extend(OrderDifference(order_no, "missing_in_service") for order_no in sorted(held))
    report.differences.sort(key=lambda item: item.order_no)
    return report


def reconcile_orders(
    source: LegacyOrderSource, port: OrdersPort, *, batch_size: int = 2000
) -> OrdersReconcileReport:
    rejected: list[object] = []

    def legacy_records() -> Iterable[OrderRecord]:
        for page in source.pages(batch_size=batch_size):
            rejected.extend(row.legacy_id for row in page.rejected)
            yield from page.records

    report = reconcile_order_records(legacy_records(), port.order_records(batch_size=batch_size))
    report.rejected_legacy_ids = rejected
    return report
