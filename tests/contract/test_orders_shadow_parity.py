"""Shadow parity for checkout: with ``/api/orders`` in shadow mode (unsafe methods mirrored, the service
rolling back), every checkout case of the contract suite compares equal, although the monolith has
emptied the cart before the mirror runs (the mirror reads the session as the monolith saw it before
the same request, by its X-Request-Id)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import func, select

from strangler_proxy.routes import LEGACY, ActionMode, Rule, RuleAction, RuleMatch, ShadowSettings, Upstream
from strangler_proxy.store.schema import shadow_counts, shadow_samples
from tests.contract.orders_sides import DEMO, STAFF, Customer, OrdersSides, running_orders_sides
from tests.integration.dataplane.harness import table

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("orders_shadow")]

ROUTE = "orders-checkout"


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrdersSides]:
    with running_orders_sides(tmp_path_factory.mktemp("orders_shadow")) as running:
        assert running.store is not None
        shadowed = Rule(
            name=ROUTE,
            match=RuleMatch(path="/api/orders", methods=frozenset({"POST"})),
            action=RuleAction(
                mode=ActionMode.SHADOW,
                upstream="orders",
                shadow=ShadowSettings(
                    mirror_unsafe_methods=True,
                    # unique per order on either side (the service numbers its own orders)
                    ignore_json_paths=("order_no", "ordered_at"),
                ),
            ),
        )
        version = running.store.publish(
            table(
                [
                    Upstream(name=LEGACY, url=running.monolith_url),
                    Upstream(name="orders", url=running.orders_url),
                ],
                [shadowed],
            )
        )
        running.store.wait_applied(version, workers=1)
        yield running


def _counts(sides: OrdersSides) -> tuple[int, int, int]:
    assert sides.store is not None
    with sides.store.engine.connect() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(shadow_counts.c.matches), 0),
                func.coalesce(func.sum(shadow_counts.c.mismatches), 0),
                func.coalesce(func.sum(shadow_counts.c.errors), 0),
            ).where(shadow_counts.c.route == ROUTE)
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _diffs(sides: OrdersSides) -> list[str]:
    assert sides.store is not None
    with sides.store.engine.connect() as conn:
        return [
            row.diff for row in conn.execute(select(shadow_samples).where(shadow_samples.c.route == ROUTE))
        ]


def _in_stock(sides: OrdersSides, count: int) -> list[int]:
    page = httpx2.get(f"{sides.monolith_url}/api/products?status=active&page_size=100&sort=id").json()
    return [p["id"] for p in page["results"] if p["stock"] >= 20][-count:]


def _set_stock(sides: OrdersSides, product_id: int, quantity: int) -> None:
    staff = base64.b64encode(f"{STAFF[0]}:{STAFF[1]}".encode()).decode()
    answer = httpx2.post(
        f"{sides.monolith_url}/api/products/{product_id}/stock",
        json={"quantity": quantity},
        headers={"Authorization": f"Basic {staff}"},
    )
    assert answer.status_code == 200, answer.text


def test_every_checkout_case_has_full_parity_in_shadow_mode(sides: OrdersSides) -> None:
    first, second, scarce = _in_stock(sides, 3)
    _set_stock(sides, scarce, 1)
    customer = Customer(sides.service_url).log_in(*DEMO)
    statuses = []
    try:
        customer.fill_cart({first: 2, second: 1})
        statuses.append(customer.checkout().status_code)  # placed, the cart emptied by the monolith
        customer.fill_cart({first: 1})
        statuses.append(customer.checkout(**{"Idempotency-Key": "parity-1"}).status_code)  # placed again
        statuses.append(customer.checkout(**{"Idempotency-Key": "parity-1"}).status_code)  # its retry
        statuses.append(customer.checkout().status_code)  # the cart is empty now
        customer.fill_cart({scarce: 3})
        statuses.append(customer.checkout().status_code)  # out of stock, the cart kept
        refused = customer.http.post("/api/orders", content=b"", headers={"Content-Type": "application/json"})
        statuses.append(refused.status_code)  # no CSRF token
        statuses.append(httpx2.post(f"{sides.service_url}/api/orders").status_code)  # anonymous
        customer.http.delete("/api/cart", headers=customer.csrf)
    finally:
        customer.close()
    assert statuses == [201, 201, 400, 400, 409, 403, 401]
    deadline = time.monotonic() + 30
    while sum(_counts(sides)) < len(statuses) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _counts(sides) == (len(statuses), 0, 0), _diffs(sides)
