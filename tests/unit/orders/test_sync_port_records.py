"""The orders service's sync port takes the ACL's ``OrderRecord`` and gives the same records back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from acl.orders import OrderLineRecord, OrderRecord, OrderStatus
from acl.orders.sync.port import OrdersPort
from new_services.orders.adapters.sync_port import create_port
from new_services.orders.settings import OrdersSettings

pytestmark = pytest.mark.unit


def _record(number: int, status: OrderStatus = OrderStatus.NEW) -> OrderRecord:
    lines = (
        OrderLineRecord(3, "LS-000003", "Cup", 2, Decimal("4.50")),
        OrderLineRecord(8, "LS-000008", "Pan", 1, Decimal("12.00")),
    )
    return OrderRecord(
        order_no=f"ORD-20250301-{number:06d}",
        customer_user_id=42,
        status=status,
        ordered_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        lines=lines,
        total=Decimal("21.00"),
    )


def test_acl_records_round_trip_through_the_port(tmp_path) -> None:
    port = create_port(OrdersSettings(STRANGLER_HOME=tmp_path))
    try:
        assert isinstance(port, OrdersPort)
        records = [_record(number) for number in range(1, 6)]
        assert port.apply_orders(records) == 5
        assert list(port.order_records(batch_size=2)) == records
        port.apply_orders([_record(2, OrderStatus.CANCELLED)])
        assert [record.status for record in port.order_records()] == [
            OrderStatus.NEW,
            OrderStatus.CANCELLED,
            OrderStatus.NEW,
            OrderStatus.NEW,
            OrderStatus.NEW,
        ]
    finally:
        port.close()
