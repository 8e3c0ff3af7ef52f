"""``POST /api/orders`` by default: the monolith's contract, checking out the session cart (on fakes)."""

from __future__ import annotations

import base64

import pytest

from tests.unit.orders.conftest import DEMO, OTHER

pytestmark = pytest.mark.unit

CSRF_SECRET = "a" * 16 + "B" * 16


@pytest.fixture
def cart_in_body() -> bool:
    return False


def post(client, identity_header, *, session="s-demo", body=b"{}", **headers):
    client.set_cookie("csrftoken", CSRF_SECRET)
    if session is not None:
        client.set_cookie("sessionid", session)
    return client.post(
        "/api/orders",
        data=body,
        content_type="application/json",
        headers={**identity_header(), "X-CSRFToken": CSRF_SECRET, **headers},
    )


def test_the_session_cart_is_checked_out_and_emptied(client, identity_header, session_carts, stock):
    session_carts.sessions["s-demo"] = (DEMO.user_id, {1: 2, 2: 1})
    created = post(client, identity_header)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [(1, 2), (2, 1)]
    assert session_carts.sessions["s-demo"] == (DEMO.user_id, {})
    assert stock.products[1].stock == 3
    # The monolith's answer to the same request again: the cart is empty now.
    again = post(client, identity_header)
    assert again.status_code == 400 and again.get_json()["error"] == {
        "code": "empty_cart",
        "message": "Your cart is empty.",
    }


def test_the_body_is_not_read_by_default(client, identity_header, session_carts):
    session_carts.sessions["s-demo"] = (DEMO.user_id, {2: 1})
    body = b'{"items": [{"product_id": 1, "quantity": 5}]}'
    order = post(client, identity_header, body=body).get_json()
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [(2, 1)]


def test_a_retry_with_the_idempotency_key_gets_the_same_order_once_the_cart_is_empty(
    client, identity_header, session_carts
):
    session_carts.sessions["s-demo"] = (DEMO.user_id, {1: 1})
    first = post(client, identity_header, **{"Idempotency-Key": "k-1"})
    again = post(client, identity_header, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()


def test_a_refused_checkout_keeps_the_cart(client, identity_header, session_carts):
    session_carts.sessions["s-demo"] = (DEMO.user_id, {2: 4})
    refused = post(client, identity_header)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "insufficient_stock"
    assert session_carts.sessions["s-demo"] == (DEMO.user_id, {2: 4})


def test_a_shadow_checkout_keeps_the_cart(client, identity_header, session_carts):
    session_carts.sessions["s-demo"] = (DEMO.user_id, {1: 1})
    assert post(client, identity_header, **{"X-Strangler-Shadow": "1"}).status_code == 201
    assert session_carts.sessions["s-demo"] == (DEMO.user_id, {1: 1})


def test_a_shadow_checkout_sees_the_cart_the_monolith_checked_out_in_the_same_request(
    client, identity_header, session_carts
):
    """The monolith answered first and emptied the cart; the mirror carries the same X-Request-Id and
    reads the cart as it was before that request."""
    session_carts.sessions["s-demo"] = (DEMO.user_id, {})
    session_carts.before["s-demo"] = {"req-1": {1: 2}}
    shadow = post(client, identity_header, **{"X-Strangler-Shadow": "1", "X-Request-Id": "req-1"})
    assert shadow.status_code == 201, shadow.get_json()
    assert [(line["product_id"], line["quantity"]) for line in shadow.get_json()["lines"]] == [(1, 2)]
    # An ordinary checkout reads the cart as it is now, whatever its request id.
    assert post(client, identity_header, **{"X-Request-Id": "req-1"}).status_code == 400
    assert session_carts.asked_before == ["req-1", None]


def test_someone_else_s_or_an_ended_session_is_not_authenticated(client, identity_header, session_carts):
    session_carts.sessions["s-other"] = (OTHER.user_id, {1: 1})
    for session in ("s-other", "s-ended"):
        answer = post(client, identity_header, session=session)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "not_authenticated"
    assert session_carts.sessions["s-other"] == (OTHER.user_id, {1: 1})


def test_basic_auth_has_no_session_cart_as_on_the_monolith(client, identity_header, session_carts):
    basic = "Basic " + base64.b64encode(b"demo:pw").decode()
    answer = post(client, identity_header, session=None, **{"Authorization": basic, "X-CSRFToken": ""})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {
        "code": "empty_cart",
        "message": "Checkout needs the session cart; log in with a session.",
    }
    assert session_carts.reads == 0


def test_only_the_lines_ordered_leave_a_cart_changed_while_the_checkout_ran(
    client, identity_header, session_carts, stock, monkeypatch
):
    """The customer adds a product and one more of an ordered one while the stock is taken: those stay,
    what was ordered goes (the session cart as read at the start is not written back)."""
    session_carts.sessions["s-demo"] = (DEMO.user_id, {1: 2})
    reserve = stock.reserve

    def reserve_while_the_customer_adds(step_id, product_id, quantity):
        session_carts.sessions["s-demo"] = (DEMO.user_id, {1: 3, 2: 1})
        return reserve(step_id, product_id, quantity)

    monkeypatch.setattr(stock, "reserve", reserve_while_the_customer_adds)
    created = post(client, identity_header)
    assert created.status_code == 201, created.get_json()
    assert [(line["product_id"], line["quantity"]) for line in created.get_json()["lines"]] == [(1, 2)]
    assert session_carts.sessions["s-demo"] == (DEMO.user_id, {1: 1, 2: 1})
