"""``POST /api/products/<id>/stock`` on the in-memory unit of work, with signed identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from acl.identity_verifier import CustomerIdentity, IdentityVerifier
from new_services.catalog.adapters.memory_repository import InMemoryUnitOfWork
from new_services.catalog.bootstrap import Catalog
from new_services.catalog.entrypoints import create_app
from new_services.catalog.settings import CatalogSettings
from tests.unit.catalog.builders import make_product

pytestmark = pytest.mark.unit

STAFF = CustomerIdentity(user_id=1, username="staff", name="Staff", is_staff=True)
CUSTOMER = CustomerIdentity(user_id=2, username="customer0001", name="Customer", is_staff=False)
CSRF_SECRET = "c" * 32
EXACTLY_ONE = 'Send exactly one of "quantity" (absolute) or "delta" (relative).'


@pytest.fixture
def verifier() -> IdentityVerifier:
    return IdentityVerifier("unit-test-identity-key-0123456789")


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork([make_product(1, stock=5), make_product(2, stock=0)])


@pytest.fixture
def stock_client(uow: InMemoryUnitOfWork, verifier: IdentityVerifier, tmp_path: Path) -> FlaskClient:
    settings = CatalogSettings(strangler_home=tmp_path)
    catalog = Catalog(
        settings=settings, uow_factory=lambda: uow, readiness=lambda: {"database": "ok"}, identity=verifier
    )
    client = create_app(settings, catalog=catalog).test_client()
    client.set_cookie("csrftoken", CSRF_SECRET)
    return client


def post(client: FlaskClient, verifier: IdentityVerifier, data: object, **options: object):  # type: ignore[no-untyped-def]
    who = options.pop("identity", STAFF)
    headers = {"X-CSRFToken": CSRF_SECRET, "Content-Type": "application/json"}
    if who is not None:
        headers["X-Strangler-Identity"] = verifier.sign(who)  # type: ignore[arg-type]
    headers.update(options.pop("headers", {}))  # type: ignore[arg-type]
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(f"/api/products/{options.pop('product', 1)}/stock", data=raw, headers=headers)


def error(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.data)["error"]


def test_staff_sets_and_moves_stock_and_each_change_is_announced(
    stock_client: FlaskClient, verifier: IdentityVerifier, uow: InMemoryUnitOfWork
) -> None:
    response = post(stock_client, verifier, {"quantity": 12})
    assert response.status_code == 200
    product = json.loads(response.data)
    assert product["id"] == 1 and product["stock"] == 12 and product["sku"] == "LS-000001"
    moved = post(stock_client, verifier, {"delta": -2})
    assert json.loads(moved.data)["stock"] == 10
    assert [p.stock.quantity for p in uow.stock_changes] == [12, 10]
    assert uow.stock_changes[-1].updated_at.microsecond == 0  # the monolith keeps seconds


@pytest.mark.parametrize(
    ("identity", "status", "code"),
    [(None, 401, "not_authenticated"), (CUSTOMER, 403, "permission_denied")],
)
def test_refuses_anonymous_and_customers(
    stock_client: FlaskClient,
    verifier: IdentityVerifier,
    uow: InMemoryUnitOfWork,
    identity: CustomerIdentity | None,
    status: int,
    code: str,
) -> None:
    response = post(stock_client, verifier, {"quantity": 3}, identity=identity)
    assert response.status_code == status and error(response)["code"] == code
    assert uow.stock_changes == []


def test_forged_identity_is_anonymous(stock_client: FlaskClient, uow: InMemoryUnitOfWork) -> None:
    forged = IdentityVerifier("another-key-another-key-another-key")
    response = post(stock_client, forged, {"quantity": 3})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic ")
    assert uow.stock_changes == []


def test_session_identity_needs_the_csrf_token(stock_client: FlaskClient, verifier: IdentityVerifier) -> None:
    response = post(stock_client, verifier, {"quantity": 3}, headers={"X-CSRFToken": "d" * 32})
    assert response.status_code == 403 and error(response)["code"] == "csrf_failed"


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        (b"{", "The request body is not valid JSON.", None),
        (b"", "The request body must be a JSON object.", None),
        ([1], "The request body must be a JSON object.", None),
        ({}, 'Send exactly one of "quantity" (absolute) or "delta" (relative).', None),
        (
            {"quantity": 1, "delta": 1},
            'Send exactly one of "quantity" (absolute) or "delta" (relative).',
            None,
        ),
        ({"quantity": "3"}, "quantity must be an integer.", "quantity"),
        ({"delta": True}, "delta must be an integer.", "delta"),
        ({"quantity": 2.0}, "quantity must be an integer.", "quantity"),
        ({"quantity": -1}, "quantity must not be negative.", "quantity"),
        ({"delta": -6}, "Stock would become negative: 5 + (-6) < 0.", "delta"),
    ],
)
def test_invalid_bodies_are_400_and_change_nothing(
    stock_client: FlaskClient,
    verifier: IdentityVerifier,
    uow: InMemoryUnitOfWork,
    data: object,
    message: str,
    field: str | None,
) -> None:
    response = post(stock_client, verifier, data)
    assert response.status_code == 400
    assert error(response) == {
        "code": "invalid_body",
        "message": message,
        **({"field": field} if field else {}),
    }
    assert uow.stock_changes == [] and uow.products.get(1).stock.quantity == 5  # type: ignore[union-attr]


def test_unknown_product_is_404_before_the_body_is_read(
    stock_client: FlaskClient, verifier: IdentityVerifier
) -> None:
    response = post(stock_client, verifier, b"{", product=99)
    assert response.status_code == 404 and error(response)["message"] == "Product 99 does not exist."


def test_shadow_request_runs_the_use_case_but_does_not_commit(
    stock_client: FlaskClient, verifier: IdentityVerifier, uow: InMemoryUnitOfWork
) -> None:
    response = post(stock_client, verifier, {"delta": 1}, headers={"X-Strangler-Shadow": "1"})
    assert response.status_code == 200 and json.loads(response.data)["stock"] == 6
    assert not uow.committed
