"""Orders, as clients see them: the same customer journey against the monolith and, once
``/api/orders`` is flipped, against the orders service behind the front door must get the same statuses,
the same meaningful headers and the same bodies. Only what is unique per order is masked: its number
(the service numbers its own orders) and the second it was placed."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.contract.orders_sides import CUSTOMER, DEMO, STAFF, Customer, OrdersSides, running_orders_sides

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("orders_contract")]

SIDES = ("monolith", "service")
COMPARED_HEADERS = ("content-type", "allow", "www-authenticate")
_ORDER_NO = re.compile(r"ORD-\d{8}-\d+")


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrdersSides]:
    with running_orders_sides(tmp_path_factory.mktemp("orders_contract")) as running:
        yield running


@pytest.fixture
def customers(sides: OrdersSides) -> Iterator[dict[str, Customer]]:
    """One signed-in demo customer per side."""
    made = {side: Customer(sides.url(side)).log_in(*DEMO) for side in SIDES}
    yield made
    for customer in made.values():
        customer.close()


def _headers(answer: httpx2.Response) -> dict[str, str | None]:
    return {name: answer.headers.get(name) for name in COMPARED_HEADERS}


def _masked(value: Any) -> Any:
    """An order answer with its number and time masked (both unique per order, on either side)."""
    if isinstance(value, dict):
        return {key: "<time>" if key == "ordered_at" else _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str):
        return _ORDER_NO.sub("<order_no>", value)
    return value


def _same(answers: dict[str, httpx2.Response], what: str) -> Any:
    monolith, service = answers["monolith"], answers["service"]
    if service.request.url.path.startswith(("/api/orders", "/orders/")):
        assert service.headers.get("x-strangler-upstream") == "orders", f"{what}: not served by the service"
    assert service.status_code == monolith.status_code, (
        f"{what}: {monolith.text[:300]} / {service.text[:300]}"
    )
    assert _headers(service) == _headers(monolith), what
    assert _masked(service.json()) == _masked(monolith.json()), what
    return monolith.json()


def _stock(sides: OrdersSides, product_id: int) -> int:
    return int(httpx2.get(f"{sides.monolith_url}/api/products/{product_id}").json()["stock"])


def _in_stock(sides: OrdersSides, count: int, *, skip: int = 0) -> list[int]:
    page = httpx2.get(f"{sides.monolith_url}/api/products?status=active&page_size=100&sort=id").json()
    ids = [p["id"] for p in page["results"] if p["stock"] >= 20]
    return ids[skip : skip + count]


def _set_stock(sides: OrdersSides, product_id: int, quantity: int) -> None:
    staff = base64.b64encode(f"{STAFF[0]}:{STAFF[1]}".encode()).decode()
    answer = httpx2.post(
        f"{sides.monolith_url}/api/products/{product_id}/stock",
        json={"quantity": quantity},
        headers={"Authorization": f"Basic {staff}"},
    )
    assert answer.status_code == 200, answer.text


def test_order_history_detail_and_pagination(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    history = _same({s: c.http.get("/api/orders") for s, c in customers.items()}, "history")
    assert history["count"] >= 3
    _same({s: c.http.get("/api/orders?page=2&page_size=2") for s, c in customers.items()}, "page 2")
    for query in ("page=99", "page=x", "page_size=101", "page_size=0"):
        _same({s: c.http.get(f"/api/orders?{query}") for s, c in customers.items()}, query)
    oldest = _same({s: c.http.get("/api/orders?page_size=100") for s, c in customers.items()}, "all")
    order_no = oldest["results"][-1]["order_no"]  # seeded on the monolith, so on both sides
    detail = _same({s: c.http.get(f"/api/orders/{order_no}") for s, c in customers.items()}, "detail")
    assert detail["order_no"] == order_no  # a backfilled order keeps its number on the service
    _same({s: c.http.get("/api/orders/ORD-19990101-999999") for s, c in customers.items()}, "unknown")
    _same({s: c.http.delete("/api/orders") for s, c in customers.items()}, "method not allowed")


_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]{32,64}(")')


def test_order_pages_show_what_the_monolith_shows(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    """Signed-in name and cart count in the header included: the cart is filled on the monolith."""
    (product,) = _in_stock(sides, 1, skip=5)
    for customer in customers.values():
        customer.fill_cart({product: 3})
    oldest = customers["monolith"].http.get("/api/orders?page_size=100").json()["results"][-1]["order_no"]
    for path in ("/orders/", f"/orders/{oldest}/", "/orders/ORD-19990101-999999/"):
        answers = {side: customer.http.get(path) for side, customer in customers.items()}
        monolith, service = answers["monolith"], answers["service"]
        assert service.headers.get("x-strangler-upstream") == "orders", path
        assert (service.status_code, service.headers["content-type"]) == (
            monolith.status_code,
            monolith.headers["content-type"],
        ), path
        assert _CSRF_INPUT.sub(r"\1<token>\2", service.text) == _CSRF_INPUT.sub(
            r"\1<token>\2", monolith.text
        ), path
        assert "Cart (3)" in monolith.text or monolith.status_code == 404
    # A flash message a monolith view left for the next page shows on that page, on either side, once.
    for customer in customers.values():
        customer.leave_flash_message(product)
    for round_ in ("pending", "taken"):
        answers = {side: customer.http.get("/orders/") for side, customer in customers.items()}
        pages = [_CSRF_INPUT.sub(r"\1<token>\2", answers[side].text) for side in SIDES]
        assert pages[1] == pages[0], round_
        assert ("to your cart.</li></ul>" in pages[0]) is (round_ == "pending"), round_
        assert "Cart (4)" in pages[0], round_
    for customer in customers.values():
        customer.http.delete("/api/cart", headers=customer.csrf)


def _messages(page: str) -> str:
    """The flash-message list of a page ("" without one)."""
    found = re.search(r'<ul class="messages">.*?</ul>', page, re.S)
    return "" if found is None else found.group(0)


def test_catalog_pages_show_the_customer_and_the_cart_as_the_monolith_does(
    sides: OrdersSides, customers: dict[str, Customer]
) -> None:
    """The home and product pages, rendered by the catalog service after the flip, for an anonymous
    visitor and for a signed-in customer whose cart was filled on the monolith: the page head and
    masthead (signed-in name, log-out form, cart count) as the monolith's. The rest of each page is
    the catalog contract's (tests/contract/test_products_contract.py, on its own seed)."""
    (product,) = _in_stock(sides, 1, skip=6)
    anonymous = {side: Customer(sides.url(side)) for side in SIDES}
    try:
        for visitors in (anonymous, customers):
            for customer in visitors.values():
                customer.fill_cart({product: 2})
            for path in ("/", "/products/?page=2", f"/products/{product}/"):
                answers = {side: customer.http.get(path) for side, customer in visitors.items()}
                monolith, service = answers["monolith"], answers["service"]
                assert service.headers.get("x-strangler-upstream") == "catalog", path
                assert service.status_code == monolith.status_code == 200, path
                assert "Cart (2)" in monolith.text, path
                masked = [
                    _CSRF_INPUT.sub(r"\1<token>\2", answer.text.split("<main")[0])
                    for answer in (monolith, service)
                ]
                assert masked[1] == masked[0], path
            # A pending flash message is shown (and taken) by the catalog's page as by the monolith's.
            for customer in visitors.values():
                customer.leave_flash_message(product)
            answers = {
                side: customer.http.get(f"/products/{product}/") for side, customer in visitors.items()
            }
            shown = {side: _messages(answer.text) for side, answer in answers.items()}
            assert "to your cart.</li>" in shown["monolith"] and shown["service"] == shown["monolith"]
            again = {side: customer.http.get("/") for side, customer in visitors.items()}
            assert [_messages(answer.text) for answer in again.values()] == ["", ""]
    finally:
        for visitors in (anonymous, customers):
            for customer in visitors.values():
                customer.http.delete("/api/cart", headers=customer.csrf)
        for customer in anonymous.values():
            customer.close()


def test_another_customers_order_is_not_found(sides: OrdersSides) -> None:
    others = {side: Customer(sides.url(side)).log_in(*CUSTOMER) for side in SIDES}
    demo = Customer(sides.monolith_url).log_in(*DEMO)
    try:
        order_no = demo.http.get("/api/orders?page_size=100").json()["results"][-1]["order_no"]  # on both
        _same({s: c.http.get(f"/api/orders/{order_no}") for s, c in others.items()}, "someone else's")
    finally:
        for customer in [*others.values(), demo]:
            customer.close()


def test_anonymous_requests_are_refused_alike(sides: OrdersSides) -> None:
    for method, path in (("GET", "/api/orders"), ("POST", "/api/orders"), ("GET", "/api/orders/ORD-1")):
        answers = {side: httpx2.request(method, sides.url(side) + path) for side in SIDES}
        body = _same(answers, f"anonymous {method} {path}")
        assert body["error"]["code"] == "not_authenticated"


def test_checkout_of_the_session_cart(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    """The cart is filled on the monolith (the service side's /api/cart is still the monolith's) and
    checked out with an empty body; the order, the emptied cart and the stock taken are the same."""
    first, second = _in_stock(sides, 2)
    before = {pid: _stock(sides, pid) for pid in (first, second)}
    for customer in customers.values():
        customer.fill_cart({first: 2, second: 1})
    answers = {side: customer.checkout() for side, customer in customers.items()}
    order = _same(answers, "checkout")
    assert answers["monolith"].status_code == 201, order
    for side, answer in answers.items():
        assert answer.headers["location"] == f"/api/orders/{answer.json()['order_no']}", side
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [(first, 2), (second, 1)]
    assert {pid: _stock(sides, pid) for pid in (first, second)} == {
        first: before[first] - 4,
        second: before[second] - 2,
    }
    carts = _same({s: c.http.get("/api/cart") for s, c in customers.items()}, "the cart after checkout")
    assert carts["items"] == []
    # The new order is in each side's history and detail.
    for side, customer in customers.items():
        order_no = answers[side].json()["order_no"]
        assert customer.http.get(f"/api/orders/{order_no}").json() == answers[side].json(), side
        assert customer.http.get("/api/orders").json()["results"][0]["order_no"] == order_no, side


def test_a_retry_places_no_second_order(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    (product,) = _in_stock(sides, 1, skip=2)
    counts = {s: c.http.get("/api/orders").json()["count"] for s, c in customers.items()}
    for customer in customers.values():
        customer.fill_cart({product: 1})
    assert {s: c.checkout().status_code for s, c in customers.items()} == {"monolith": 201, "service": 201}
    retried = _same({s: c.checkout() for s, c in customers.items()}, "the same checkout again")
    assert retried["error"]["code"] == "empty_cart"
    assert {s: c.http.get("/api/orders").json()["count"] for s, c in customers.items()} == {
        s: n + 1 for s, n in counts.items()
    }


def test_empty_cart(customers: dict[str, Customer]) -> None:
    for customer in customers.values():
        customer.http.delete("/api/cart", headers=customer.csrf)
    body = _same({s: c.checkout() for s, c in customers.items()}, "empty cart")
    assert body == {"error": {"code": "empty_cart", "message": "Your cart is empty."}}


def test_out_of_stock_keeps_the_cart(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    (scarce,) = _in_stock(sides, 1, skip=3)
    _set_stock(sides, scarce, 2)
    for customer in customers.values():
        customer.fill_cart({scarce: 3})
    body = _same({s: c.checkout() for s, c in customers.items()}, "out of stock")
    assert body["error"]["code"] == "insufficient_stock"
    assert (body["error"]["requested"], body["error"]["available"]) == (3, 2)
    assert _stock(sides, scarce) == 2
    carts = _same({s: c.http.get("/api/cart") for s, c in customers.items()}, "the cart kept")
    assert [(i["product_id"], i["quantity"]) for i in carts["items"]] == [(scarce, 3)]


def test_csrf_refusal(sides: OrdersSides, customers: dict[str, Customer]) -> None:
    (product,) = _in_stock(sides, 1, skip=4)
    before = _stock(sides, product)
    for customer in customers.values():
        customer.fill_cart({product: 1})
    answers = {
        side: customer.http.post("/api/orders", headers={"X-CSRFToken": "x" * 32})
        for side, customer in customers.items()
    }
    body = _same(answers, "CSRF refusal")
    assert body["error"]["code"] == "csrf_failed"
    assert _stock(sides, product) == before


def test_basic_auth(sides: OrdersSides) -> None:
    """An API client with HTTP basic auth: its history and orders as on the monolith, no session cart to
    check out, and the monolith's refusals of wrong or malformed credentials."""

    def basic(credentials: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    demo = basic(f"{DEMO[0]}:{DEMO[1]}")
    for method, path, headers in (
        ("GET", "/api/orders?page_size=100", demo),
        ("GET", "/api/orders?page=2&page_size=3", demo),
        ("POST", "/api/orders", demo),
        ("GET", "/api/orders", basic(f"{DEMO[0]}:wrong-password")),
        ("GET", "/api/orders", {"Authorization": "Basic %%%"}),
    ):
        answers = {side: httpx2.request(method, sides.url(side) + path, headers=headers) for side in SIDES}
        _same(answers, f"basic auth {method} {path} {headers['Authorization'][:12]}")
    orders = httpx2.get(sides.service_url + "/api/orders?page_size=100", headers=demo).json()
    assert orders["count"] >= 3
    first = orders["results"][-1]["order_no"]
    answers = {side: httpx2.get(f"{sides.url(side)}/api/orders/{first}", headers=demo) for side in SIDES}
    assert _same(answers, "basic auth detail")["order_no"] == first
