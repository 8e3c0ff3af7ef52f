"""A customer changes the cart while the checkout of it runs (another tab adds a product), on both sides.

The race is made certain, not hoped for: the test holds a row lock on an ordered product in the
monolith's PostgreSQL database, so the checkout stops where it takes that product's stock (the
monolith's own ``UPDATE``, or the orders service's stock call to the monolith); it waits until the
checkout's query is blocked by the lock (``pg_blocking_pids``), adds a product to the same session's
cart, and lets the checkout go.

What the monolith does: its checkout reads the session when the request starts and Django's session
middleware saves the whole session when the response leaves, the cart emptied. The product added
meanwhile is overwritten, lost without a word (last writer wins on the whole session; had the other
request saved after the checkout instead, it would have written the lines just ordered back). The
orders service takes only the lines it ordered out of the cart as it is when the order is placed
(compare-and-set on the session's cart, read again when it moved): the added product stays, and
nothing ordered is left in the cart to be ordered twice. This is a deliberate difference: the
service keeps what the monolith loses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx2
import psycopg
import pytest

from tests.contract.orders_sides import DEMO, Customer, OrdersSides, running_orders_sides
from tests.support.servers import temporary_postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.xdist_group("checkout_race")]


@pytest.fixture(scope="module")
def legacy_database() -> Iterator[str]:
    with temporary_postgres_database("sf_checkout_race") as url:
        yield url


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory, legacy_database: str) -> Iterator[OrdersSides]:
    with running_orders_sides(
        tmp_path_factory.mktemp("checkout_race"), legacy_database_url=legacy_database
    ) as running:
        yield running


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def _stock_row_locked(database_url: str, product_id: int) -> Iterator[Callable[[], bool]]:
    """Holds the product's row lock; yields "is a query waiting for it?"."""
    with psycopg.connect(database_url) as holder, psycopg.connect(database_url, autocommit=True) as watcher:
        holder.execute("SELECT 1 FROM tbl_product WHERE prd_id = %s FOR UPDATE", (product_id,))
        pid = holder.info.backend_pid

        def blocked() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (pid,)
            ).fetchone()
            return row is not None and row[0] > 0

        try:
            yield blocked
        finally:
            holder.rollback()


def _cart(customer: Customer) -> dict[int, int]:
    answer = customer.http.get("/api/cart")
    assert answer.status_code == 200, answer.text
    return {item["product_id"]: item["quantity"] for item in answer.json()["items"]}


def _in_stock(sides: OrdersSides) -> list[int]:
    page = httpx2.get(f"{sides.monolith_url}/api/products?status=active&page_size=100&sort=id").json()
    return [product["id"] for product in page["results"] if product["stock"] >= 20]


def _checkout_while_another_tab_adds(
    base_url: str, database_url: str, ordered: dict[int, int], added: int
) -> tuple[httpx2.Response, dict[int, int]]:
    customer = Customer(base_url).log_in(*DEMO)
    other_tab = Customer(base_url)
    try:
        customer.fill_cart(ordered)
        other_tab.http.cookies.update(customer.http.cookies)
        with ThreadPoolExecutor(1) as pool, _stock_row_locked(database_url, min(ordered)) as blocked:
            checkout = pool.submit(customer.checkout)
            _wait(lambda: blocked() or checkout.done(), "the checkout to wait for the stock row")
            assert not checkout.done(), checkout.result().text
            add = other_tab.http.post(
                "/api/cart/items", json={"product_id": added, "quantity": 1}, headers=customer.csrf
            )
            assert add.status_code == 201, add.text
        placed = checkout.result(timeout=30)
        return placed, _cart(customer)
    finally:
        customer.close()
        other_tab.close()


def test_on_the_monolith_a_product_added_during_checkout_is_lost(
    sides: OrdersSides, legacy_database: str
) -> None:
    first, second, added = _in_stock(sides)[:3]
    placed, cart = _checkout_while_another_tab_adds(
        sides.monolith_url, legacy_database, {first: 2, second: 1}, added
    )
    assert placed.status_code == 201, placed.text
    assert [(line["product_id"], line["quantity"]) for line in placed.json()["lines"]] == [
        (first, 2),
        (second, 1),
    ]
    assert cart == {}


def test_on_the_service_only_the_lines_ordered_leave_a_cart_changed_during_checkout(
    sides: OrdersSides, legacy_database: str
) -> None:
    first, second, added = _in_stock(sides)[3:6]
    placed, cart = _checkout_while_another_tab_adds(
        sides.service_url, legacy_database, {first: 2, second: 1}, added
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers.get("x-strangler-upstream") == "orders"
    assert [(line["product_id"], line["quantity"]) for line in placed.json()["lines"]] == [
        (first, 2),
        (second, 1),
    ]
    assert cart == {added: 1}
