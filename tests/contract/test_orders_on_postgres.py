"""The orders contract with the orders service on PostgreSQL (the monolith stays on SQLite): the same
cases, collected here again over sides whose service database is a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.orders_sides import OrdersSides, running_orders_sides
from tests.contract.test_orders_contract import (  # noqa: F401 (collected again, over these sides)
    customers,
    test_a_retry_places_no_second_order,
    test_checkout_of_the_session_cart,
    test_empty_cart,
    test_order_history_detail_and_pagination,
    test_out_of_stock_keeps_the_cart,
)
from tests.support.servers import temporary_postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.xdist_group("orders_contract_pg")]


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrdersSides]:
    with (
        temporary_postgres_database("sf_orders_contract") as url,
        running_orders_sides(
            tmp_path_factory.mktemp("orders_contract_pg"), orders_database_url=url
        ) as running,
    ):
        yield running
