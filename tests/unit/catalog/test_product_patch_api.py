"""``PATCH /api/products/<id>`` on the in-memory unit of work: staff change a product's name, description
or price; the change, when there is one, is announced with the fields that changed."""

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
VERIFIER = IdentityVerifier("unit-test-identity-key-0123456789")


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork([make_product(1, stock=5)])


@pytest.fixture
def client(uow: InMemoryUnitOfWork, tmp_path: Path) -> FlaskClient:
    settings = CatalogSettings(strangler_home=tmp_path)
    catalog = Catalog(
        settings=settings, uow_factory=lambda: uow, readiness=lambda: {"database": "ok"}, identity=VERIFIER
    )
    test_client = create_app(settings, catalog=catalog).test_client()
    test_client.set_cookie("csrftoken", CSRF_SECRET)
    return test_client


def patch(client: FlaskClient, body: object, identity: CustomerIdentity | None = STAFF):  # type: ignore[no-untyped-def]
    headers = {"X-CSRFToken": CSRF_SECRET, "Content-Type": "application/json"}
    if identity is not None:
        headers["X-Strangler-Identity"] = VERIFIER.sign(identity)
    return client.patch("/api/products/1", data=json.dumps(body).encode(), headers=headers)


def test_staff_rename_and_reprice_and_the_change_is_announced(
    client: FlaskClient, uow: InMemoryUnitOfWork
) -> None:
    response = patch(client, {"name": "Chef's knife", "price": "24.00"})
    assert response.status_code == 200, response.data
    product = json.loads(response.data)
    assert product["name"] == "Chef's knife" and product["price"] == "24.00" and product["stock"] == 5
    [(announced, fields)] = uow.field_changes
    assert fields == ("name", "price") and announced.updated_at.microsecond == 0
    assert patch(client, {"name": "Chef's knife"}).status_code == 200  # nothing changed: nothing announced
    assert len(uow.field_changes) == 1


@pytest.mark.parametrize(
    "body", [{}, {"stock": 3}, {"name": " "}, {"description": 5}, {"price": "24"}, {"price": 24}, [1]]
)
def test_refuses_what_it_cannot_change(client: FlaskClient, uow: InMemoryUnitOfWork, body: object) -> None:
    response = patch(client, body)
    assert response.status_code == 400 and json.loads(response.data)["error"]["code"] == "invalid_body"
    assert uow.field_changes == []


@pytest.mark.parametrize(("identity", "status"), [(None, 401), (CUSTOMER, 403)])
def test_refuses_anonymous_and_customers(
    client: FlaskClient, uow: InMemoryUnitOfWork, identity: CustomerIdentity | None, status: int
) -> None:
    assert patch(client, {"name": "x"}, identity=identity).status_code == status
    assert uow.field_changes == []


@pytest.mark.parametrize("token", [None, "d" * 32])
def test_a_patch_without_the_csrf_token_is_refused_like_a_stock_write(
    client: FlaskClient, uow: InMemoryUnitOfWork, token: str | None
) -> None:
    headers = {"Content-Type": "application/json", "X-Strangler-Identity": VERIFIER.sign(STAFF)}
    if token is not None:
        headers["X-CSRFToken"] = token
    patched = client.patch("/api/products/1", data=json.dumps({"name": "x"}).encode(), headers=headers)
    stocked = client.post("/api/products/1/stock", data=json.dumps({"delta": 1}).encode(), headers=headers)
    assert patched.status_code == stocked.status_code == 403
    assert json.loads(patched.data) == json.loads(stocked.data)
    assert json.loads(patched.data)["error"]["code"] == "csrf_failed"
    assert uow.field_changes == [] and uow.stock_changes == []
