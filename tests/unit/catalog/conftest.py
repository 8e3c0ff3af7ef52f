"""Flask app fixtures over the in-memory unit of work (no database, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from new_services.catalog.adapters.memory_repository import InMemoryUnitOfWork
from new_services.catalog.adapters.orm import start_mappers
from new_services.catalog.bootstrap import Catalog
from new_services.catalog.domain import Status
from new_services.catalog.entrypoints import create_app
from new_services.catalog.settings import CatalogSettings
from tests.unit.catalog.builders import make_product


def pytest_configure(config: pytest.Config) -> None:
    """Map Product before any test module builds one (instances made before mapping stay unmapped)."""
    start_mappers()


@pytest.fixture
def memory_uow() -> InMemoryUnitOfWork:
    products = [
        make_product(
            i,
            name=f"{['Oak', 'Bamboo', 'Steel'][i % 3]} item {i:02d}",
            category=["Home>Kitchen>Knives", "Home>Living>Lamps", "Outdoor>Camping>Tents"][i % 3],
            status=Status.DISCONTINUED if i % 10 == 0 else Status.ACTIVE,
        )
        for i in range(1, 51)
    ]
    products[2].description = 'Line one\nLine <two> & "three"'
    return InMemoryUnitOfWork(products)


@pytest.fixture
def app(memory_uow: InMemoryUnitOfWork, tmp_path: Path) -> Flask:
    settings = CatalogSettings(strangler_home=tmp_path)
    catalog = Catalog(settings=settings, uow_factory=lambda: memory_uow, readiness=lambda: {"database": "ok"})
    return create_app(settings, catalog=catalog)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
