"""The orders HTTP API on fakes: authentication, history, checkout, idempotency, shadow, errors."""

from __future__ import annotations

import pytest

from strangler_proxy.identity_token import IDENTITY_HEADER, sign_identity
from tests.unit.orders.conftest import DEMO, OTHER

pytestmark = pytest.mark.unit

NOT_AUTHENTICATED = {
    "error": {
        "code": "not_authenticated",
        "message": "Authentication required: log in or use HTTP basic auth.",
    }
}
CART = {"items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]}


CSRF_SECRET = "a" * 16 + "B" * 16


def checkout(client, headers, body=CART, **extra):
    client.set_cookie("csrftoken", CSRF_SECRET)
    return client.post("/api/orders", json=body, headers={"X-CSRFToken": CSRF_SECRET, **headers, **extra})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-User-Id": "42", "X-User": "demo", "Cookie": "sessionid=abc"},
        {IDENTITY_HEADER: '{"sub": "42", "username": "demo"}'},
        {IDENTITY_HEADER: sign_identity("another-key-0123456789abcdef", {"sub": "42", "username": "x"}, 2e9)},
    ],
    ids=["absent", "client-headers", "unsigned", "wrong-key"],
)
@pytest.mark.parametrize(
    "method,path", [("GET", "/api/orders"), ("GET", "/api/orders/ORD-1"), ("POST", "/api/orders")]
)
def test_no_valid_identity_is_401_with_the_monoliths_body(client, store, stock, headers, method, path):
    response = client.open(path, method=method, json=CART if method == "POST" else None, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHENTICATED
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="LegacyShop API"')
    assert store.orders == {} and stock.stock_of(1) == 5


def test_expired_identity_is_401(client, identity_header, clock):
    headers = identity_header()
    clock.advance(61)
    assert client.get("/api/orders", headers=headers).status_code == 401


def test_checkout_then_history_and_detail(client, identity_header, stock):
    created = checkout(client, identity_header())
    assert created.status_code == 201
    order = created.get_json()
    assert created.headers["Location"] == f"/api/orders/{order['order_no']}"
    assert order == {
        "order_no": "ORD-20260125-000001",
        "status": "new",
        "total": "44.80",
        "currency": "EUR",
        "ordered_at": "2026-01-25T14:03:00+01:00",
        "lines": [
            {
                "product_id": 1,
                "sku": "LS-000001",
                "name": "Product 1",
                "quantity": 2,
                "unit_price": "19.90",
                "line_total": "39.80",
            },
            {
                "product_id": 2,
                "sku": "LS-000002",
                "name": "Product 2",
                "quantity": 1,
                "unit_price": "5.00",
                "line_total": "5.00",
            },
        ],
    }
    assert (stock.stock_of(1), stock.stock_of(2)) == (3, 2)

    history = client.get("/api/orders?page_size=1", headers=identity_header()).get_json()
    assert history == {
        "count": 1,
        "page": 1,
        "page_size": 1,
        "num_pages": 1,
        "next": None,
        "previous": None,
        "results": [order],
    }
    detail = client.get(f"/api/orders/{order['order_no']}", headers=identity_header())
    assert detail.get_json() == order
    assert client.head("/api/orders", headers=identity_header()).status_code == 200


def test_another_customer_sees_neither_the_order_nor_its_page(client, identity_header):
    order_no = checkout(client, identity_header(DEMO)).get_json()["order_no"]
    other = identity_header(OTHER)
    assert client.get("/api/orders", headers=other).get_json()["count"] == 0
    response = client.get(f"/api/orders/{order_no}", headers=other)
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "not_found", "message": f"Order {order_no} does not exist."}
    }
    assert client.get(f"/orders/{order_no}/", headers=other).status_code == 404


def test_pagination_links_and_parameter_errors(client, identity_header, stock):
    for _ in range(3):
        assert (
            checkout(
                client, identity_header(), body={"items": [{"product_id": 1, "quantity": 1}]}
            ).status_code
            == 201
        )
    body = client.get("/api/orders?page=2&page_size=2", headers=identity_header()).get_json()
    assert (body["count"], body["num_pages"], len(body["results"])) == (3, 2, 1)
    assert body["previous"] == "/api/orders?page=1&page_size=2" and body["next"] is None
    newest_first = [
        o["order_no"] for o in client.get("/api/orders", headers=identity_header()).get_json()["results"]
    ]
    assert newest_first == sorted(newest_first, reverse=True)
    for query, field in [("page=3&page_size=2", "page"), ("page=x", "page"), ("page_size=101", "page_size")]:
        response = client.get(f"/api/orders?{query}", headers=identity_header())
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_parameter"
        assert response.get_json()["error"]["field"] == field


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"items": []}, 400, "empty_cart"),
        ({"items": "x"}, 400, "invalid_body"),
        ({"items": [{"product_id": 1, "quantity": 100}]}, 400, "invalid_body"),
        ({"items": [{"product_id": True, "quantity": 1}]}, 400, "invalid_body"),
        ([1], 400, "empty_cart"),  # no "items": the session cart, which this client has not
        ({"items": [{"product_id": 2, "quantity": 4}]}, 409, "insufficient_stock"),
        ({"items": [{"product_id": 77, "quantity": 1}]}, 409, "checkout_failed"),
    ],
)
def test_checkout_refusals(client, identity_header, stock, store, body, status, code):
    response = checkout(client, identity_header(), body=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    assert not any(o.status.visible for o in store.orders.values())


def test_insufficient_stock_body_matches_the_monolith(client, identity_header):
    response = checkout(client, identity_header(), body={"items": [{"product_id": 2, "quantity": 4}]})
    assert response.get_json() == {
        "error": {
            "code": "insufficient_stock",
            "message": "Not enough stock for Product 2 (LS-000002): you asked for 4, 3 left.",
            "product_id": 2,
            "requested": 4,
            "available": 3,
        }
    }


def test_idempotency_key_replays_and_refuses_another_body(client, identity_header, stock, store):
    first = checkout(client, identity_header(), **{"Idempotency-Key": "abc"})
    again = checkout(client, identity_header(), **{"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert len(store.orders) == 1 and stock.stock_of(1) == 3

    other = checkout(
        client,
        identity_header(),
        body={"items": [{"product_id": 1, "quantity": 1}]},
        **{"Idempotency-Key": "abc"},
    )
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert len(store.orders) == 1
    bad = checkout(client, identity_header(), **{"Idempotency-Key": "x" * 300})
    assert bad.status_code == 400


def test_shadow_checkout_answers_but_leaves_nothing(client, identity_header, stock, store):
    response = checkout(client, identity_header(), **{"X-Strangler-Shadow": "1"})
    assert response.status_code == 201
    assert response.get_json()["total"] == "44.80"
    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    assert store.orders == {} and store.outbox == [] and store.checkouts == {}


def test_wrong_methods_and_unknown_paths(client, identity_header):
    response = client.delete("/api/orders", headers=identity_header())
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert client.post("/api/orders/ORD-1", headers=identity_header()).headers["Allow"] == "GET, HEAD"
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_pages_redirect_anonymous_visitors_to_login(client):
    response = client.get("/orders/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/orders/%3Fpage%3D2"
    assert client.get("/orders").status_code == 301


def test_the_slash_redirect_is_the_monoliths(client):
    """Django's APPEND_SLASH answers before its X-Frame-Options middleware, after reading the session."""
    response = client.get("/orders/ORD-1?x=1")
    assert response.status_code == 301 and response.headers["Location"] == "/orders/ORD-1/?x=1"
    assert response.headers["Vary"] == "Cookie" and "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.data == b""


def test_pages_list_and_show_orders(client, identity_header):
    order_no = checkout(client, identity_header()).get_json()["order_no"]
    listing = client.get("/orders/", headers=identity_header())
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert f'<a href="/orders/{order_no}/">{order_no}</a>' in html
    assert "2026-01-25 14:03" in html and "44.80 EUR" in html and "Log out demo" in html
    detail = client.get(f"/orders/{order_no}/", headers=identity_header()).get_data(as_text=True)
    assert "LS-000001" in detail and "39.80" in detail
    assert client.post("/orders/", headers=identity_header()).status_code == 405


def test_health_and_metrics(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready", "checks": {"database": "ok"}}
    client.get("/healthz")
    assert b"orders_http_requests_total" in client.get("/metrics").data


def masked(secret: str, mask: str = "0123456789abcdefghijklmnopqrstuv") -> str:
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return mask + "".join(
        chars[(chars.index(s) + chars.index(m)) % len(chars)] for s, m in zip(secret, mask, strict=True)
    )


@pytest.mark.parametrize(
    "cookie,token,origin,reason",
    [
        (None, CSRF_SECRET, None, "CSRF cookie not set."),
        (CSRF_SECRET, None, None, "CSRF token missing."),
        (CSRF_SECRET, "x" * 10, None, "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."),
        (CSRF_SECRET, "b" * 32, None, "CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
        (
            CSRF_SECRET,
            CSRF_SECRET,
            "https://evil.example",
            "Origin checking failed - https://evil.example does not match any trusted origins.",
        ),
    ],
)
def test_checkout_needs_the_csrf_token_like_the_monolith(
    client, identity_header, stock, cookie, token, origin, reason
):
    if cookie is not None:
        client.set_cookie("csrftoken", cookie)
    headers = identity_header()
    if token is not None:
        headers["X-CSRFToken"] = token
    if origin is not None:
        headers["Origin"] = origin
    response = client.post("/api/orders", json=CART, headers=headers)
    assert response.status_code == 403
    assert response.get_json() == {
        "error": {"code": "csrf_failed", "message": f"CSRF verification failed: {reason}"}
    }
    assert stock.stock_of(1) == 5


def test_a_masked_csrf_token_is_accepted(client, identity_header):
    client.set_cookie("csrftoken", CSRF_SECRET)
    response = client.post(
        "/api/orders", json=CART, headers={**identity_header(), "X-CSRFToken": masked(CSRF_SECRET)}
    )
    assert response.status_code == 201
