"""Forward sync into the orders service: legacy orders land in history, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from new_services.orders.adapters.sync_port import create_port
from new_services.orders.service_layer import get_order, list_orders
from new_services.orders.settings import OrdersSettings

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class LineRecord:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRecord:
    order_no: str
    customer_user_id: int
    status: str
    ordered_at: datetime
    lines: tuple[LineRecord, ...]


def record(order_no: str, status: str = "new", day: int = 1) -> OrderRecord:
    return OrderRecord(
        order_no,
        42,
        status,
        datetime(2025, 3, day, 9, tzinfo=UTC),
        (LineRecord(3, "LS-000003", "Cup", 2, Decimal("4.50")),),
    )


def test_legacy_orders_are_upserted_by_number(tmp_path):
    port = create_port(OrdersSettings(STRANGLER_HOME=tmp_path))
    try:
        assert port.apply_orders([record("ORD-20250301-000001"), record("ORD-20250302-000002", day=2)]) == 2
        assert port.apply_orders([record("ORD-20250301-000001", status="shipped")]) == 1
        assert port.count_orders() == 2

        uow_factory = port.unit_of_work
        page = list_orders(uow_factory, 42, page=1, page_size=20)
        assert [o.order_no for o in page.orders] == ["ORD-20250302-000002", "ORD-20250301-000001"]
        shipped = get_order(uow_factory, 42, "ORD-20250301-000001")
        assert shipped.status.value == "shipped" and str(shipped.total) == "9.00"
        with pytest.raises(ValueError):
            port.apply_orders([record("ORD-X", status="pending")])
        with pytest.raises(ValueError):
            port.apply_orders([record("ORD-Y", status="weird")])
        assert port.count_orders() == 2
    finally:
        port.close()
