"""Read-your-writes across the seam, through the front door: a customer who just wrote on one side reads
it at once on the other.

Real processes: LegacyShop and the orders service under gunicorn, the forward relay, the orders consumer,
the orders service's reverse relay, and the data plane in front. The table sends the order reads to the
orders service while checkout stays on the monolith (then the other way round): every order the
customer was just told exists is found on the other side, 100 times in a row, by waiting for the sync
rather than by falling back (the data plane's debug headers say who answered).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from strangler_proxy.routes import LEGACY, MatchKind
from tests.contract.orders_sides import Customer
from tests.integration.sync.harness import SyncStack
from tests.integration.sync.seam import Seam, running_seam, to_orders

pytestmark = [pytest.mark.integration]

DEMO = ("demo", "demo-password-123")
ROUNDS = 100


@pytest.fixture(scope="module")
def seam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seam]:
    with running_seam(tmp_path_factory.mktemp("read-your-writes")) as running:
        yield running


def _products(stack: SyncStack) -> list[int]:
    return [
        row[0]
        for row in stack.rows(
            "legacy", "SELECT prd_id FROM tbl_product WHERE sts_cd = 'A' AND stk_qty >= 10 ORDER BY prd_id"
        )
    ]


def _read_at_once(customer: Customer, order_no: str) -> tuple[httpx2.Response, httpx2.Response]:
    return customer.http.get(f"/api/orders/{order_no}"), customer.http.get(f"/orders/{order_no}/")


def test_a_checkout_on_the_monolith_is_read_at_once_on_the_orders_service(seam: Seam) -> None:
    seam.publish(
        [
            to_orders("order-pages", "/orders/", {"GET", "HEAD"}),
            to_orders("order-api", "/api/orders/", {"GET", "HEAD"}),
        ]
    )
    products = _products(seam.stack)
    customer = Customer(seam.dataplane.url).log_in(*DEMO)
    misses: list[str] = []
    served_by: dict[str, int] = {}
    try:
        for round_ in range(ROUNDS):
            customer.fill_cart({products[round_ % len(products)]: 1})
            placed = customer.checkout()
            assert placed.status_code == 201, placed.text
            assert placed.headers["x-strangler-upstream"] == LEGACY
            assert "strangler_sync" in customer.http.cookies  # the position of the write
            assert "x-strangler-sync-events" not in placed.headers  # taken off by the data plane
            order_no = placed.json()["order_no"]
            api, page = _read_at_once(customer, order_no)
            for answer in (api, page):
                served_by[answer.headers["x-strangler-upstream"]] = (
                    served_by.get(answer.headers["x-strangler-upstream"], 0) + 1
                )
                if answer.status_code != 200:
                    misses.append(f"{answer.request.url.path}: {answer.status_code}")
            assert api.json()["order_no"] == order_no
            assert order_no in page.text
    finally:
        customer.close()
    assert misses == []
    # Found because the orders service had it (the read waited for the sync), not by falling back.
    assert served_by == {"orders": 2 * ROUNDS}, served_by


def test_a_checkout_on_the_orders_service_is_read_at_once_on_the_monolith(seam: Seam) -> None:
    seam.publish([to_orders("checkout", "/api/orders", {"POST"}, MatchKind.EXACT)])
    products = _products(seam.stack)
    customer = Customer(seam.dataplane.url).log_in(*DEMO)
    misses: list[str] = []
    try:
        for round_ in range(ROUNDS):
            customer.fill_cart({products[-1 - round_ % len(products)]: 1})
            placed = customer.checkout()
            assert placed.status_code == 201, placed.text
            assert placed.headers["x-strangler-upstream"] == "orders"
            order_no = placed.json()["order_no"]
            api, page = _read_at_once(customer, order_no)
            assert api.headers["x-strangler-upstream"] == page.headers["x-strangler-upstream"] == LEGACY
            misses += [f"{a.request.url.path}: {a.status_code}" for a in (api, page) if a.status_code != 200]
    finally:
        customer.close()
    assert misses == []


def test_without_a_position_the_read_does_not_wait(seam: Seam) -> None:
    """The sync is not instant: the same read with the position cookie dropped misses an order it was
    just told about (what every round above would have seen without read-your-writes)."""
    seam.publish([to_orders("order-api", "/api/orders/", {"GET", "HEAD"})])
    seam.stack.stop("consume-orders")  # the order cannot reach the service while this runs
    customer = Customer(seam.dataplane.url).log_in(*DEMO)
    try:
        customer.fill_cart({_products(seam.stack)[0]: 1})
        placed = customer.checkout()
        assert placed.status_code == 201, placed.text
        order_no = placed.json()["order_no"]
        position = customer.http.cookies["strangler_sync"]
        customer.http.cookies.delete("strangler_sync")
        unsynced = customer.http.get(f"/api/orders/{order_no}")
        assert (unsynced.status_code, unsynced.headers["x-strangler-upstream"]) == (404, "orders")
        # With its position, the read waits its bound, then the legacy answers: never a 404.
        customer.http.cookies.set("strangler_sync", position)
        waited = customer.http.get(f"/api/orders/{order_no}")
        assert (waited.status_code, waited.headers["x-strangler-upstream"]) == (200, LEGACY)
        assert waited.json()["order_no"] == order_no
        # A forged position is ignored (the read goes where the table says, at once).
        customer.http.cookies.set("strangler_sync", position[:-4] + "AAAA")
        forged = customer.http.get(f"/api/orders/{order_no}")
        assert (forged.status_code, forged.headers["x-strangler-upstream"]) == (404, "orders")
    finally:
        customer.close()
        seam.stack.start("consume-orders")
    assert "read-your-writes" in (seam.dataplane.home / "logs" / "dataplane.log").read_text()
