"""``order.placed`` from the orders service applied through ``POST /internal/sync/apply``."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from django.conf import settings

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.models import Order, OrderLine
from strangler_django.models import AppliedEvent, OutboxEvent
from strangler_django.sync import sync_event_apply
from tests.unit.legacy_monolith.factories import make_customer, make_product

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"


def _bearer() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.INTERNAL_TOKEN}"}


NUMBER = "ORD-20260110-000042"


def _placed(user_id: int, products: list[Product], **changes: object) -> dict[str, object]:
    """An event for order NUMBER; ``changes`` replace payload fields (a changed order_no is malformed)."""
    lines = [
        {"product_id": p.prd_id, "sku": p.prd_cd, "name": p.prd_nm, "quantity": 2, "unit_price": p.unit_prc}
        for p in products
    ]
    total = sum(float(p.unit_prc) * 2 for p in products)
    payload = {
        "order_no": NUMBER,
        "customer_user_id": user_id,
        "status": "paid",
        "total": f"{total:.2f}",
        "currency": "EUR",
        "ordered_at": "2026-01-10T09:30:15.250000+00:00",
        "stock_reserved": True,
        "lines": lines,
    }
    payload.update(changes)
    return {
        "event_id": str(uuid.uuid4()),
        "origin": "orders",
        "aggregate_type": "order",
        "aggregate_id": NUMBER,
        "sequence": 1,
        "type": "order.placed",
        "payload": payload,
    }


def test_a_placed_order_is_created_with_its_lines_without_touching_stock(client):
    customer = make_customer()
    first, second = make_product(stock=5), make_product(stock=7)
    event = _placed(customer.user_id, [first, second])
    response = client.post("/internal/sync/apply", event, content_type=JSON, **_bearer())
    assert response.status_code == 200, response.content
    assert response.json() == {"event_id": event["event_id"], "outcome": "applied"}

    order = Order.objects.get()
    assert (order.ord_no, order.cust_id, order.ord_sts) == (NUMBER, customer.pk, "P")
    assert order.tot_amt == event["payload"]["total"]
    # 09:30 UTC is 10:30 in Berlin in winter; stored naive, whole seconds.
    assert order.ord_dt == datetime(2026, 1, 10, 10, 30, 15)
    lines = list(OrderLine.objects.filter(ord=order).values_list("prd_id", "qty", "unit_prc"))
    assert lines == [(first.prd_id, 2, first.unit_prc), (second.prd_id, 2, second.unit_prc)]
    assert sorted(Product.objects.values_list("stk_qty", flat=True)) == [5, 7]

    echo = OutboxEvent.objects.get()
    assert (echo.aggregate_type, echo.event_type, echo.origin) == ("order", "order.placed", "orders")
    assert echo.aggregate_id == str(order.ord_id)


def test_redelivery_and_a_second_event_for_the_same_number_are_duplicates(client):
    customer = make_customer()
    product = make_product(stock=5)
    event = _placed(customer.user_id, [product])
    assert sync_event_apply(event=event) == "applied"
    assert sync_event_apply(event=event) == "duplicate"
    other_id = {**event, "event_id": str(uuid.uuid4())}
    assert sync_event_apply(event=other_id) == "duplicate"
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1
    assert OutboxEvent.objects.count() == 1
    assert list(AppliedEvent.objects.values_list("outcome", flat=True)) == ["applied"]


def test_summer_time_and_status_new_map_to_legacy_values():
    customer = make_customer()
    product = make_product(stock=5)
    event = _placed(customer.user_id, [product], status="new", ordered_at="2026-07-01T22:15:00+00:00")
    assert sync_event_apply(event=event) == "applied"
    order = Order.objects.get()
    assert order.ord_sts == "N" and order.ord_dt == datetime(2026, 7, 2, 0, 15, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_user_id": 999_999}, "customer_user_id"),
        ({"stock_reserved": False}, "stock_reserved"),
        ({"status": "pending"}, "status"),
        ({"total": "1.5"}, "total"),
        ({"total": "0.01"}, "total"),
        ({"currency": "USD"}, "currency"),
        ({"ordered_at": "2026-01-10T09:30:00"}, "ordered_at"),
        ({"lines": []}, "lines"),
        ({"order_no": "ORD-OTHER"}, "order_no"),
    ],
)
def test_malformed_events_and_unknown_customers_are_refused_with_400(client, changes, field):
    customer = make_customer()
    product = make_product(stock=5)
    event = _placed(customer.user_id, [product], **changes)
    response = client.post("/internal/sync/apply", event, content_type=JSON, **_bearer())
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Order.objects.exists() and not OutboxEvent.objects.exists()
    assert not AppliedEvent.objects.exists()
    assert Product.objects.get().stk_qty == 5


def test_a_line_with_an_unknown_product_is_refused():
    customer = make_customer()
    product = make_product(stock=5)
    event = _placed(customer.user_id, [product])
    event["payload"]["lines"][0]["product_id"] = 999_999
    with pytest.raises(ValueError, match="unknown products"):
        sync_event_apply(event=event)
    assert not Order.objects.exists() and not AppliedEvent.objects.exists()
