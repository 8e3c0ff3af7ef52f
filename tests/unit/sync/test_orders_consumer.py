"""The orders consumer: exactly once, in order per order, echoes skipped, bad events rejected not stalled."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from acl.orders.records import OrderStatus
from acl.orders.sync.consumer import OrdersConsumer
from acl.orders.sync.port import OrdersPort
from acl.sync.core.inbox import Inbox
from acl.sync.core.tables import sync_inbox
from tests.unit.sync.fakes import FakeTransport, product_event
from tests.unit.sync.order_fakes import FakeOrdersPort, FakeReferences, order_event, order_payload

pytestmark = pytest.mark.unit


def _consumer(
    sync_db, hold_timeout: float = 60.0
) -> tuple[OrdersConsumer, FakeTransport, FakeOrdersPort, FakeReferences]:
    transport, port, references = FakeTransport(), FakeOrdersPort(), FakeReferences()
    consumer = OrdersConsumer(
        transport, Inbox(sync_db, "orders"), port, references, hold_timeout=hold_timeout
    )
    return consumer, transport, port, references


def _outcomes(sync_db, consumer: str = "orders") -> dict[str, str]:
    with sync_db.connect() as connection:
        return dict(
            connection.execute(
                select(sync_inbox.c.event_id, sync_inbox.c.outcome).where(sync_inbox.c.consumer == consumer)
            ).all()
        )


def test_the_fake_port_is_an_orders_port() -> None:
    assert isinstance(FakeOrdersPort(), OrdersPort)


def test_applies_the_last_state_per_order_once_and_acks(sync_db) -> None:
    consumer, transport, port, references = _consumer(sync_db)
    placed = order_event(1, 1)
    paid = order_event(1, 2, event_type="order.status_changed", ord_sts="P")
    other = order_event(2, 1)
    transport.publish([placed, other, paid])
    assert consumer.run_once() == 3
    assert port.calls == [["ORD-20260101-000001", "ORD-20260101-000002"]]
    assert port.orders["ORD-20260101-000001"].status is OrderStatus.PAID
    assert port.orders["ORD-20260101-000002"].customer_user_id == 1002
    assert references.calls == [({1, 2}, {3})]  # one lookup for the whole batch
    assert sorted(transport.acked) == ["1", "2", "3"]
    assert set(_outcomes(sync_db).values()) == {"applied"}

    transport.publish([placed, paid])  # redelivered
    assert consumer.run_once() == 2
    assert port.calls == [["ORD-20260101-000001", "ORD-20260101-000002"]]  # nothing applied again


def test_a_gap_is_held_until_the_missing_event_arrives(sync_db) -> None:
    consumer, transport, port, _ = _consumer(sync_db)
    placed = order_event(4, 1)
    paid = order_event(4, 2, event_type="order.status_changed", ord_sts="P")
    shipped = order_event(4, 3, event_type="order.status_changed", ord_sts="S")
    transport.publish([placed, shipped])
    consumer.run_once()
    assert port.orders["ORD-20260101-000004"].status is OrderStatus.NEW
    assert transport.acked == ["1"]
    transport.publish([paid])
    consumer.run_once()
    assert port.orders["ORD-20260101-000004"].status is OrderStatus.SHIPPED
    assert sorted(transport.acked) == ["1", "2", "3"]


def test_echoes_of_the_services_own_orders_are_recorded_not_applied(sync_db) -> None:
    consumer, transport, port, references = _consumer(sync_db)
    echo = order_event(6, 1, origin="orders")
    product = product_event(3, 1)
    transport.publish([echo, product])
    assert consumer.run_once() == 2
    assert port.calls == [] and references.calls == []
    assert _outcomes(sync_db) == {echo.event_id: "echo", product.event_id: "ignored"}
    # The order's next change made in the monolith follows the echo in sequence and is applied.
    transport.publish([order_event(6, 2, event_type="order.status_changed", ord_sts="C")])
    consumer.run_once()
    assert port.orders["ORD-20260101-000006"].status is OrderStatus.CANCELLED


def test_malformed_events_are_rejected_and_recorded_without_stalling(sync_db) -> None:
    consumer, transport, port, _ = _consumer(sync_db)
    bad_total = order_event(7, 1, tot_amt="39.81")
    unknown_customer = order_event(8, 1, cust_id=500)
    unknown_product = order_event(9, 1, lines=[{"line_id": 1, "prd_id": 77, "qty": 1, "unit_prc": "1.00"}])
    wrong_aggregate = replace(order_event(10, 1), payload=order_payload(11))
    good = order_event(12, 1)
    transport.publish([bad_total, unknown_customer, unknown_product, wrong_aggregate, good])
    assert consumer.run_once() == 5
    assert list(port.orders) == ["ORD-20260101-000012"]
    outcomes = _outcomes(sync_db)
    assert outcomes.pop(good.event_id) == "applied"
    assert set(outcomes.values()) == {"rejected"} and len(outcomes) == 4
    assert consumer.stats.rejected == 4
    assert len(transport.acked) == 5


def test_an_order_the_service_refuses_is_rejected_alone(sync_db) -> None:
    consumer, transport, port, _ = _consumer(sync_db)
    port.refuse.add("ORD-20260101-000014")
    refused, refused_again = order_event(14, 1), order_event(14, 2, ord_sts="P")
    accepted = order_event(15, 1)
    transport.publish([refused, refused_again, accepted])
    assert consumer.run_once() == 3
    assert list(port.orders) == ["ORD-20260101-000015"]
    assert _outcomes(sync_db) == {
        refused.event_id: "rejected",
        refused_again.event_id: "rejected",
        accepted.event_id: "applied",
    }


def test_a_failed_apply_rewinds_the_transport_and_records_nothing(sync_db) -> None:
    consumer, transport, port, _ = _consumer(sync_db)

    def broken(records):  # type: ignore[no-untyped-def]
        raise RuntimeError("orders database is locked")

    port.apply_orders = broken  # type: ignore[method-assign]
    transport.publish([order_event(1, 1)])
    with pytest.raises(RuntimeError, match="locked"):
        consumer.run_once()
    assert transport.rewound == 1 and transport.acked == []
    assert _outcomes(sync_db) == {}


def test_the_orders_and_catalog_inboxes_are_separate(sync_db) -> None:
    from acl.catalog.sync.consumer import CatalogConsumer
    from tests.unit.sync.fakes import FakePort

    event = order_event(1, 1)
    orders, orders_transport, port, _ = _consumer(sync_db)
    catalog_transport = FakeTransport()
    catalog = CatalogConsumer(catalog_transport, Inbox(sync_db, "catalog"), FakePort())
    for transport in (orders_transport, catalog_transport):
        transport.publish([event])
    orders.run_once()
    catalog.run_once()
    assert _outcomes(sync_db, "orders") == {event.event_id: "applied"}
    assert _outcomes(sync_db, "catalog") == {event.event_id: "ignored"}
    assert list(port.orders) == ["ORD-20260101-000001"]
