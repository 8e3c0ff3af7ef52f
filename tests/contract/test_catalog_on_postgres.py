"""The same contract with the catalog on PostgreSQL (the monolith stays on SQLite): every product and
every page in every order, plus the filters, must still match byte for byte."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.sides import SEED_PRODUCTS, Side, fetch, running_sides
from tests.contract.test_products_contract import API_CASES, assert_same
from tests.support.servers import temporary_postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.xdist_group("catalog_contract_pg")]


@pytest.fixture(scope="module")
def pg_sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    with (
        temporary_postgres_database("sf_catalog") as url,
        running_sides(tmp_path_factory.mktemp("contract_pg"), catalog_database_url=url) as pair,
    ):
        yield pair


def test_api_cases_on_postgres(pg_sides: tuple[Side, Side]) -> None:
    monolith, catalog = pg_sides
    for path in API_CASES:
        assert_same(fetch(monolith, "GET", path), fetch(catalog, "GET", path), f"GET {path}")


def test_every_product_and_page_on_postgres(pg_sides: tuple[Side, Side]) -> None:
    monolith, catalog = pg_sides
    for product_id in range(1, SEED_PRODUCTS + 1, 7):
        path = f"/api/products/{product_id}"
        assert_same(fetch(monolith, "GET", path), fetch(catalog, "GET", path), path)
    for sort in ("id", "name", "-name", "price", "-price", "sku", "-sku"):
        for page in (1, 2):
            path = f"/api/products?sort={sort}&page_size=100&page={page}"
            assert_same(fetch(monolith, "GET", path), fetch(catalog, "GET", path), path)
    for path in ("/products/", "/products/?q=oak&page=2", "/products/3/"):
        assert_same(fetch(monolith, "GET", path), fetch(catalog, "GET", path), path)
