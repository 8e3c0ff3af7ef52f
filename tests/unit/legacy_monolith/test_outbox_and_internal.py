"""The monolith's sync hooks: outbox events in the business transaction, /internal/ endpoints."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.services import InsufficientStock, order_place
from strangler_django.models import AppliedEvent, OutboxEvent
from strangler_django.outbox import record_event
from tests.unit.legacy_monolith.factories import PASSWORD, make_customer, make_product, make_staff

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"


def _basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()


def _bearer(token: str | None = None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token or settings.INTERNAL_TOKEN}"}


def _event(product: Product, sequence: int = 1, **payload: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "origin": "catalog",
        "aggregate_type": "product",
        "aggregate_id": str(product.prd_id),
        "sequence": sequence,
        "type": "product.updated",
        "payload": {"prd_id": product.prd_id, **payload},
    }


def test_stock_api_writes_a_product_event_with_the_row_in_legacy_columns(client):
    make_staff()
    product = make_product(stock=4)
    response = client.post(
        f"/api/products/{product.prd_id}/stock",
        {"delta": 3},
        content_type=JSON,
        HTTP_AUTHORIZATION=_basic("clerk"),
    )
    assert response.status_code == 200
    event = OutboxEvent.objects.get()
    assert (event.aggregate_type, event.aggregate_id, event.sequence) == ("product", str(product.prd_id), 1)
    assert event.event_type == "product.stock_changed" and event.origin == "legacy"
    assert event.payload["stk_qty"] == 7 and event.payload["prd_cd"] == product.prd_cd
    # the change itself travels with the row: the move, and the product's stock version it made
    assert (event.payload["stk_delta"], event.payload["stk_ver"]) == (3, 1)
    assert set(event.payload) == {
        "prd_id", "prd_cd", "prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "ctg_id", "cat_path",
        "crt_dt", "upd_dt", "stk_delta", "stk_ver",
    }  # fmt: skip
    assert event.published_at is None


def test_a_refused_stock_change_writes_no_event(client):
    make_staff()
    product = make_product(stock=1)
    response = client.post(
        f"/api/products/{product.prd_id}/stock",
        {"delta": -5},
        content_type=JSON,
        HTTP_AUTHORIZATION=_basic("clerk"),
    )
    assert response.status_code == 400
    assert not OutboxEvent.objects.exists()


def test_checkout_writes_stock_events_and_the_order_in_one_transaction():
    customer = make_customer()
    first, second = make_product(stock=5), make_product(stock=5)
    order = order_place(customer=customer, quantities={first.prd_id: 2, second.prd_id: 1})
    events = list(OutboxEvent.objects.order_by("id"))
    assert [(e.aggregate_type, e.event_type) for e in events] == [
        ("product", "product.stock_changed"),
        ("product", "product.stock_changed"),
        ("order", "order.placed"),
    ]
    assert events[0].payload["stk_qty"] == 3 and events[1].payload["stk_qty"] == 4
    assert events[2].payload["ord_no"] == order.ord_no and len(events[2].payload["lines"]) == 2
    with pytest.raises(InsufficientStock):
        order_place(customer=customer, quantities={first.prd_id: 99})
    assert OutboxEvent.objects.count() == 3  # the failed checkout left nothing behind


def test_sequences_count_per_aggregate_and_events_need_a_transaction():
    product = make_product()
    with transaction.atomic():
        for _ in range(3):
            record_event("product", product.prd_id, "t", {})
        record_event("order", product.prd_id, "t", {})
    assert list(OutboxEvent.objects.values_list("aggregate_type", "sequence")) == [
        ("product", 1),
        ("product", 2),
        ("product", 3),
        ("order", 1),
    ]


def test_admin_saves_write_events(client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    client.login(username="boss", password=PASSWORD)
    product = make_product(name="Old name")
    form = {
        "prd_cd": product.prd_cd,
        "prd_nm": "New name",
        "prd_desc": "",
        "unit_prc": "12.00",
        "stk_qty": "3",
        "sts_cd": "A",
        "ctg": str(product.ctg_id),
    }
    response = client.post(f"/admin/catalog/product/{product.prd_id}/change/", form)
    assert response.status_code == 302, response.content[:500]
    event = OutboxEvent.objects.get()
    assert event.event_type == "product.updated" and event.payload["prd_nm"] == "New name"

    order = order_place(customer=make_customer(), quantities={product.prd_id: 1})
    change = {
        "ord_no": order.ord_no,
        "cust": str(order.cust_id),
        "ord_sts": "P",
        "tot_amt": order.tot_amt,
        "ord_dt_0": order.ord_dt.strftime("%Y-%m-%d"),
        "ord_dt_1": order.ord_dt.strftime("%H:%M:%S"),
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    line = order.lines.get()
    change.update(
        {
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-line_id": str(line.line_id),
            "lines-0-ord": str(order.ord_id),
            "lines-0-prd": str(line.prd_id),
            "lines-0-qty": str(line.qty),
            "lines-0-unit_prc": line.unit_prc,
        }
    )
    response = client.post(f"/admin/orders/order/{order.ord_id}/change/", change)
    assert response.status_code == 302, response.content[:2000]
    last = OutboxEvent.objects.order_by("-id").first()
    assert (last.event_type, last.payload["ord_sts"]) == ("order.status_changed", "P")


def test_internal_endpoints_require_the_token(client):
    product = make_product()
    for headers in ({}, _bearer("wrong"), {"HTTP_AUTHORIZATION": f"Basic {settings.INTERNAL_TOKEN}"}):
        response = client.post(
            "/internal/sync/apply", _event(product, stk_qty=1), content_type=JSON, **headers
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert (
            client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION="x", **headers).status_code == 401
        )
    assert Product.objects.get().stk_qty == product.stk_qty


def test_apply_is_idempotent_ordered_and_tagged_with_the_origin(client):
    product = make_product(stock=10)
    event = _event(product, sequence=2, stk_qty=4, upd_dt="2026-01-02T10:00:00")
    first = client.post("/internal/sync/apply", event, content_type=JSON, **_bearer())
    assert first.status_code == 200 and first.json() == {"event_id": event["event_id"], "outcome": "applied"}
    again = client.post("/internal/sync/apply", event, content_type=JSON, **_bearer())
    assert again.json()["outcome"] == "duplicate"
    older = _event(product, sequence=1, stk_qty=99)
    assert (
        client.post("/internal/sync/apply", older, content_type=JSON, **_bearer()).json()["outcome"]
        == "stale"
    )

    product.refresh_from_db()
    assert product.stk_qty == 4 and product.upd_dt.isoformat() == "2026-01-02T10:00:00"
    echo = OutboxEvent.objects.get()
    assert (echo.origin, echo.event_type, echo.payload["stk_qty"]) == ("catalog", "product.stock_changed", 4)
    assert sorted(AppliedEvent.objects.values_list("sequence", "outcome")) == [(1, "stale"), (2, "applied")]


def test_apply_refuses_bad_events_without_changing_anything(client):
    product = make_product(stock=10)
    cases = [
        (_event(product, stk_qty=-1), 400, "stk_qty"),
        (_event(product, unit_prc="19.9"), 400, "unit_prc"),
        (_event(product, cat_path="No>Such>Category"), 400, "cat_path"),
        ({**_event(product, stk_qty=1), "origin": "legacy"}, 400, "origin"),
        ({**_event(product, stk_qty=1), "type": "product.deleted"}, 400, "type"),
        ({**_event(product, stk_qty=1), "event_id": "nope"}, 400, "event_id"),
        ({**_event(product, stk_qty=1), "aggregate_id": "999999"}, 404, None),
    ]
    for event, status, field in cases:
        response = client.post("/internal/sync/apply", event, content_type=JSON, **_bearer())
        assert response.status_code == status, (event, response.content)
        assert response.json()["error"].get("field") == field
    assert Product.objects.get().stk_qty == 10
    assert not OutboxEvent.objects.exists() and not AppliedEvent.objects.exists()


def test_order_status_changes_apply(client):
    product = make_product(stock=3)
    order = order_place(customer=make_customer(), quantities={product.prd_id: 1})
    event = {
        "event_id": str(uuid.uuid4()),
        "origin": "orders",
        "aggregate_type": "order",
        "aggregate_id": order.ord_id,
        "sequence": 1,
        "type": "order.status_changed",
        "payload": {"ord_sts": "S"},
    }
    assert client.post("/internal/sync/apply", event, content_type=JSON, **_bearer()).status_code == 200
    assert Order.objects.get().ord_sts == "S"
    assert OutboxEvent.objects.order_by("-id").first().origin == "orders"


def test_session_resolve(client):
    customer = make_customer(username="alice")
    assert (
        client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION="unknown", **_bearer()).status_code
        == 404
    )
    assert client.get("/internal/session/resolve", **_bearer()).status_code == 400
    client.login(username="alice", password=PASSWORD)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    resolved = client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION=key, **_bearer())
    assert resolved.json() == {
        "user_id": customer.user_id,
        "username": "alice",
        "is_staff": False,
        "customer_id": customer.cust_id,
    }
    client.logout()
    assert client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION=key, **_bearer()).status_code == 404


def test_a_batch_applies_in_order_and_refuses_bad_events_alone(client):
    product = make_product(stock=10)
    first = _event(product, sequence=1, stk_qty=1)
    batch = {
        "events": [
            first,
            {**_event(product, stk_qty=2), "aggregate_id": "999999"},
            _event(product, sequence=2, unit_prc="bad"),
            first,
            _event(product, sequence=3, stk_qty=3),
        ]
    }
    response = client.post("/internal/sync/apply", batch, content_type=JSON, **_bearer())
    assert response.status_code == 200
    results = response.json()["results"]
    assert [result.get("outcome") or result["error"]["code"] for result in results] == [
        "applied",
        "not_found",
        "invalid_body",
        "duplicate",
        "applied",
    ]
    assert results[2]["error"]["field"] == "unit_prc"
    product.refresh_from_db()
    assert product.stk_qty == 3
    assert OutboxEvent.objects.count() == 2 and AppliedEvent.objects.count() == 2
    bad = client.post("/internal/sync/apply", {"events": "x"}, content_type=JSON, **_bearer())
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "events"
