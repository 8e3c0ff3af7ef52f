"""Fixtures for the orders unit tests: the Flask app on in-memory storage and a fake stock port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier
from new_services.orders.adapters.memory_repository import MemoryStore, MemoryUnitOfWork
from new_services.orders.bootstrap import Orders
from new_services.orders.entrypoints.app import create_app
from new_services.orders.settings import OrdersSettings
from tests.unit.orders.fakes import Clock, FakeSessionCarts, FakeStock, product

KEY = "unit-test-identity-key-0123456789"
DEMO = CustomerIdentity(user_id=42, username="demo", name="Demo Customer")
OTHER = CustomerIdentity(user_id=43, username="other", name="Other Customer")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def stock() -> FakeStock:
    return FakeStock({1: product(1, 5, "19.90"), 2: product(2, 3, "5.00")})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session_carts() -> FakeSessionCarts:
    return FakeSessionCarts()


@pytest.fixture
def cart_in_body() -> bool:
    """The unit tests of checkout itself send the cart in the body (the extension); the session cart's
    tests override this with False, the default."""
    return True


@pytest.fixture
def app(
    tmp_path: Path,
    store: MemoryStore,
    stock: FakeStock,
    clock: Clock,
    session_carts: FakeSessionCarts,
    cart_in_body: bool,
) -> Flask:
    settings = OrdersSettings(
        STRANGLER_HOME=tmp_path, ORDERS_NUMBER_OFFSET=0, ORDERS_CART_IN_BODY=cart_in_body
    )
    orders = Orders(
        settings=settings,
        uow_factory=lambda: MemoryUnitOfWork(store),
        stock=stock,
        identity=IdentityVerifier(KEY, clock=lambda: clock().timestamp()),
        readiness=lambda: {"database": "ok"},
        session_carts=session_carts,
        clock=clock,
    )
    return create_app(orders=orders)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def identity_header(clock: Clock) -> Callable[[CustomerIdentity], dict[str, str]]:
    verifier = IdentityVerifier(KEY, clock=lambda: clock().timestamp())

    def header(identity: CustomerIdentity = DEMO) -> dict[str, str]:
        return {IDENTITY_HEADER: verifier.sign(identity, ttl=60)}

    return header
