"""Fakes for the orders consumer's unit tests: an in-memory orders port and reference resolver, and
order events built in one line (the payload the monolith's outbox writes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from acl.orders.records import OrderRecord
from acl.orders.references import LegacyReferences, ProductReference
from acl.sync.core.events import SyncEvent

__all__ = ["FakeOrdersPort", "FakeReferences", "order_event", "order_payload"]

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def order_payload(ord_id: int, **overrides: Any) -> dict[str, Any]:
    """Order ``ord_id`` of customer ``ord_id`` (user ``1000 + ord_id``): two of product 3 at 19.90."""
    payload: dict[str, Any] = {
        "ord_id": ord_id,
        "ord_no": f"ORD-20260101-{ord_id:06d}",
        "cust_id": ord_id,
        "ord_sts": "N",
        "tot_amt": "39.80",
        "ord_dt": "2026-01-01T13:00:00",
        "lines": [{"line_id": ord_id * 10, "prd_id": 3, "qty": 2, "unit_prc": "19.90"}],
    }
    payload.update(overrides)
    return payload


def order_event(
    ord_id: int,
    sequence: int,
    *,
    origin: str = "legacy",
    event_type: str = "order.placed",
    **overrides: Any,
) -> SyncEvent:
    return SyncEvent(
        event_id=str(uuid.uuid4()),
        aggregate_type="order",
        aggregate_id=str(ord_id),
        sequence=sequence,
        type=event_type,
        payload=order_payload(ord_id, **overrides),
        occurred_at=T0 + timedelta(seconds=sequence),
        origin=origin,
    )


class FakeReferences:
    """Customers 1..99 (user id 1000 + n) and products 1..9 exist."""

    def __init__(self) -> None:
        self.calls: list[tuple[set[int], set[int]]] = []

    def resolve(self, customer_ids: set[int], product_ids: set[int]) -> LegacyReferences:
        self.calls.append((set(customer_ids), set(product_ids)))
        return LegacyReferences(
            customers={cid: 1000 + cid for cid in customer_ids if cid < 100},
            products={
                pid: ProductReference(f"LS-{pid:06d}", f"Product {pid}") for pid in product_ids if pid < 10
            },
        )


class FakeOrdersPort:
    """Upserts by order number like the service: an order held keeps its lines, takes the new status.
    Order numbers listed in ``refuse`` make ``apply_orders`` raise ``ValueError`` (nothing written)."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self.calls: list[list[str]] = []
        self.refuse: set[str] = set()

    def apply_orders(self, records: Sequence[OrderRecord]) -> int:
        self.calls.append([record.order_no for record in records])
        refused = [record.order_no for record in records if record.order_no in self.refuse]
        if refused:
            raise ValueError(f"order {refused[0]}: refused by the model")
        for record in records:
            held = self.orders.get(record.order_no)
            if held is None:
                self.orders[record.order_no] = record
            else:
                self.orders[record.order_no] = OrderRecord(
                    **{**{name: getattr(held, name) for name in held.__slots__}, "status": record.status}
                )
        return len(records)

    def order_records(self, *, batch_size: int = 1000) -> Iterator[OrderRecord]:
        yield from (self.orders[key] for key in sorted(self.orders))

    def count_orders(self) -> int:
        return len(self.orders)

    def close(self) -> None:
        pass
