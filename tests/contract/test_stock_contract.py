"""``POST /api/products/<id>/stock``: the refusals both sides share give the same status and body.

Staff reach the monolith with HTTP basic auth and the catalog with the signed identity header the proxy
would set for a staff session (the service never sees passwords). Only refusals are compared: they
change nothing, so the two sides keep the same data for every other contract test.
"""

from __future__ import annotations

import base64
import json

import pytest

from acl.identity_verifier import CustomerIdentity, IdentityVerifier, load_identity_key
from tests.contract.sides import Answer, Side, fetch

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("catalog_contract")]

STAFF_BASIC = "Basic " + base64.b64encode(b"staff:staff-password-123").decode()
CSRF_SECRET = "s" * 32
STAFF = CustomerIdentity(user_id=1, username="staff", name="staff", is_staff=True)


def _staff_headers(side: Side) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if side.strangler_home is None:
        headers["Authorization"] = STAFF_BASIC
    else:
        verifier = IdentityVerifier(load_identity_key(side.strangler_home))
        # a staff session through the proxy: the signed identity, plus the session's CSRF token
        headers["X-Strangler-Identity"] = verifier.sign(STAFF)
        headers["Cookie"] = f"csrftoken={CSRF_SECRET}"
        headers["X-CSRFToken"] = CSRF_SECRET
    return headers


def _post(side: Side, path: str, body: bytes, *, staff: bool) -> Answer:
    headers = _staff_headers(side) if staff else {"Content-Type": "application/json"}
    return fetch(side, "POST", path, headers, body)


def _assert_same_refusal(monolith: Side, catalog: Side, path: str, body: bytes, *, staff: bool) -> Answer:
    expected, actual = (_post(side, path, body, staff=staff) for side in (monolith, catalog))
    context = f"POST {path} {body!r} staff={staff}"
    assert (actual.status, actual.headers.get("content-type")) == (
        expected.status,
        expected.headers.get("content-type"),
    ), context
    assert json.loads(actual.body) == json.loads(expected.body), context
    return expected


def test_anonymous_write_is_401_on_both_sides(monolith: Side, catalog: Side) -> None:
    expected = _assert_same_refusal(
        monolith, catalog, "/api/products/1/stock", b'{"quantity": 3}', staff=False
    )
    assert expected.status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"quantity": 1, "delta": 1}',
        b'{"quantity": "3"}',
        b'{"delta": true}',
        b'{"quantity": 1.5}',
    ],
)
def test_invalid_body_is_400_on_both_sides(monolith: Side, catalog: Side, body: bytes) -> None:
    expected = _assert_same_refusal(monolith, catalog, "/api/products/2/stock", body, staff=True)
    assert expected.status == 400 and json.loads(expected.body)["error"]["code"] == "invalid_body"


@pytest.mark.parametrize("body", [b'{"quantity": -1}', b'{"delta": -1000000}'])
def test_negative_stock_is_400_on_both_sides(monolith: Side, catalog: Side, body: bytes) -> None:
    expected = _assert_same_refusal(monolith, catalog, "/api/products/3/stock", body, staff=True)
    assert expected.status == 400 and "field" in json.loads(expected.body)["error"]


def test_unknown_product_is_404_on_both_sides(monolith: Side, catalog: Side) -> None:
    expected = _assert_same_refusal(monolith, catalog, "/api/products/999999/stock", b"{}", staff=True)
    assert expected.status == 404
