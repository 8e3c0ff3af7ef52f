"""Cart and orders in the JSON API: session cart, checkout, order history, their errors."""

from __future__ import annotations

import base64
import re

import pytest

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.models import Order
from tests.unit.legacy_monolith.factories import PASSWORD, make_customer, make_product

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"


def test_cart_add_update_remove_and_totals(client):
    knife = make_product(price="19.90", stock=10)
    pan = make_product(price="5.05", stock=10)
    assert client.get("/api/cart").json() == {"items": [], "total": "0.00", "currency": "EUR"}
    added = client.post("/api/cart/items", {"product_id": knife.prd_id, "quantity": 2}, content_type=JSON)
    assert added.status_code == 201
    client.post("/api/cart/items", {"product_id": pan.prd_id}, content_type=JSON)
    client.post("/api/cart/items", {"product_id": knife.prd_id, "quantity": 1}, content_type=JSON)
    body = client.get("/api/cart").json()
    assert [(i["product_id"], i["quantity"], i["unit_price"], i["line_total"]) for i in body["items"]] == [
        (knife.prd_id, 3, "19.90", "59.70"),
        (pan.prd_id, 1, "5.05", "5.05"),
    ]
    assert body["total"] == "64.75"
    updated = client.put(f"/api/cart/items/{knife.prd_id}", {"quantity": 1}, content_type=JSON).json()
    assert updated["total"] == "24.95"
    removed = client.delete(f"/api/cart/items/{pan.prd_id}").json()
    assert [item["product_id"] for item in removed["items"]] == [knife.prd_id]
    assert client.delete(f"/api/cart/items/{pan.prd_id}").status_code == 404
    zero = client.patch(f"/api/cart/items/{knife.prd_id}", {"quantity": 0}, content_type=JSON).json()
    assert zero["items"] == []


def test_cart_replace_and_clear(client):
    knife = make_product()
    pan = make_product()
    body = {"items": [{"product_id": pan.prd_id, "quantity": 2}, {"product_id": knife.prd_id, "quantity": 1}]}
    replaced = client.post("/api/cart", body, content_type=JSON)
    assert replaced.status_code == 200
    assert [(i["product_id"], i["quantity"]) for i in replaced.json()["items"]] == [
        (knife.prd_id, 1),
        (pan.prd_id, 2),
    ]
    cleared = client.delete("/api/cart")
    assert cleared.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"product_id": 999, "quantity": 1}, 404, "not_found"),
        ({"product_id": "x", "quantity": 1}, 400, "invalid_body"),
        ({"quantity": 1}, 400, "invalid_body"),
        ({"product_id": "{id}", "quantity": 0}, 400, "invalid_body"),
        ({"product_id": "{id}", "quantity": 100}, 400, "invalid_body"),
        ({"product_id": "{gone}", "quantity": 1}, 409, "product_discontinued"),
    ],
)
def test_cart_item_errors(client, body, status, code):
    product = make_product()
    gone = make_product(status=Product.STATUS_DISCONTINUED)
    placeholders = {"{id}": product.prd_id, "{gone}": gone.prd_id}
    body = {key: placeholders.get(value, value) for key, value in body.items()}
    response = client.post("/api/cart/items", body, content_type=JSON)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert client.get("/api/cart").json()["items"] == []


def test_cart_replace_rejects_a_non_list(client):
    response = client.post("/api/cart", {"items": "all"}, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_body",
        "message": '"items" must be a list.',
        "field": "items",
    }


def test_cart_posts_need_the_csrf_token(csrf_client):
    product = make_product()
    refused = csrf_client.post("/api/cart/items", {"product_id": product.prd_id}, content_type=JSON)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    token = csrf_client.get("/api/cart").cookies["csrftoken"].value
    accepted = csrf_client.post(
        "/api/cart/items", {"product_id": product.prd_id}, content_type=JSON, HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201


def test_checkout_creates_the_order_and_decrements_stock(client):
    customer = make_customer("anna")
    knife = make_product(price="19.90", stock=5)
    pan = make_product(price="7.50", stock=2)
    client.login(username="anna", password=PASSWORD)
    client.post(
        "/api/cart",
        {"items": [{"product_id": knife.prd_id, "quantity": 2}, {"product_id": pan.prd_id, "quantity": 2}]},
        content_type=JSON,
    )
    response = client.post("/api/orders")
    assert response.status_code == 201
    order = response.json()
    assert re.fullmatch(r"ORD-\d{8}-\d{6}", order["order_no"])
    assert response["Location"] == f"/api/orders/{order['order_no']}"
    assert order["status"] == "new"
    assert order["total"] == "54.80"
    assert order["currency"] == "EUR"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", order["ordered_at"])
    assert [(line["product_id"], line["quantity"], line["line_total"]) for line in order["lines"]] == [
        (knife.prd_id, 2, "39.80"),
        (pan.prd_id, 2, "15.00"),
    ]
    knife.refresh_from_db()
    pan.refresh_from_db()
    assert (knife.stk_qty, pan.stk_qty) == (3, 0)
    assert client.get("/api/cart").json()["items"] == []
    stored = Order.objects.get(ord_no=order["order_no"])
    assert stored.cust == customer
    assert stored.tot_amt == "54.80"


def test_checkout_with_insufficient_stock_is_409_and_changes_nothing(client):
    make_customer("anna")
    plenty = make_product(stock=50)
    scarce = make_product(name="Rare pan", stock=1)
    client.login(username="anna", password=PASSWORD)
    client.post(
        "/api/cart",
        {
            "items": [
                {"product_id": plenty.prd_id, "quantity": 3},
                {"product_id": scarce.prd_id, "quantity": 2},
            ]
        },
        content_type=JSON,
    )
    response = client.post("/api/orders")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert (error["product_id"], error["requested"], error["available"]) == (scarce.prd_id, 2, 1)
    assert "Rare pan" in error["message"]
    plenty.refresh_from_db()
    assert plenty.stk_qty == 50
    assert Order.objects.count() == 0
    assert len(client.get("/api/cart").json()["items"]) == 2


def test_checkout_errors_empty_cart_and_anonymous(client):
    assert client.post("/api/orders").status_code == 401
    make_customer("anna")
    client.login(username="anna", password=PASSWORD)
    response = client.post("/api/orders")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_cart"


def test_order_history_is_paginated_and_private(client):
    make_customer("anna")
    make_customer("ben")
    product = make_product(stock=100)
    client.login(username="anna", password=PASSWORD)
    numbers = []
    for _ in range(3):
        client.post("/api/cart/items", {"product_id": product.prd_id}, content_type=JSON)
        numbers.append(client.post("/api/orders").json()["order_no"])
    page = client.get("/api/orders?page_size=2").json()
    assert page["count"] == 3
    assert page["next"] == "/api/orders?page=2&page_size=2"
    assert [order["order_no"] for order in page["results"]] == numbers[::-1][:2]
    detail = client.get(f"/api/orders/{numbers[0]}")
    assert detail.status_code == 200
    assert detail.json()["order_no"] == numbers[0]

    client.logout()
    client.login(username="ben", password=PASSWORD)
    assert client.get("/api/orders").json()["count"] == 0
    hidden = client.get(f"/api/orders/{numbers[0]}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"


def test_orders_accept_basic_auth_for_reading(client):
    make_customer("anna")
    token = base64.b64encode(f"anna:{PASSWORD}".encode()).decode()
    response = client.get("/api/orders", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert client.get("/api/orders").status_code == 401


def test_orders_wrong_method(client):
    response = client.put("/api/orders")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
