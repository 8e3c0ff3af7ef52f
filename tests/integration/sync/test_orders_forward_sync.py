"""Orders placed on the monolith reach the orders service through ``python -m acl.sync consume-orders``;
a redelivered event is applied once; an order placed on the orders service does not come back twice.

``backfill orders`` copies the orders the monolith held before, ``reconcile orders`` compares both
sides. Real processes: LegacyShop and the orders service under gunicorn, the forward relay, the orders
consumer and the orders service's reverse relay. On SQLite with the SQL stream, and on PostgreSQL with
Redis Streams.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier, load_identity_key
from tests.integration.sync.harness import STAFF, SyncStack, eventually, running_sync_stack
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, start_process
from tests.support.servers import temporary_postgres_database

pytestmark = [pytest.mark.integration]

DEMO = ("demo", "demo-password-123")
CSRF_SECRET = "c" * 32


class OrdersSide:
    """The orders service under gunicorn, on the stack's state dir, and a signed customer identity."""

    def __init__(self, stack: SyncStack, database_url: str | None, running: ExitStack) -> None:
        self.stack = stack
        self.port = free_port()
        self.home = Path(stack.env["STRANGLER_HOME"])
        self.database_url = (
            database_url or f"sqlite:///{self.home / 'services' / 'orders' / 'orders.sqlite3'}"
        )
        env = {
            "STRANGLER_HOME": str(self.home),
            "ORDERS_PORT": str(self.port),
            "ORDERS_WORKERS": "1",
            "STRANGLER_LEGACY_URL": stack.legacy_url,
            "ORDERS_LEGACY_USERNAME": STAFF[0],
            "ORDERS_LEGACY_PASSWORD": STAFF[1],
            "ORDERS_CART_IN_BODY": "true",  # a checkout below sends its cart in the body (the extension)
        }
        if database_url:
            env["ORDERS_DATABASE_URL"] = database_url
            stack.env["ORDERS_DATABASE_URL"] = database_url
        process = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/orders/gunicorn.conf.py",
                "new_services.orders.entrypoints.wsgi:app",
            ],
            log_path=stack.workdir / "orders.log",
            env=env,
            ready_url=f"http://127.0.0.1:{self.port}/readyz",
        )
        running.callback(process.stop)
        self.client = httpx2.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        running.callback(self.client.close)

    def headers(self, user_id: int) -> dict[str, str]:
        who = CustomerIdentity(user_id=user_id, username=DEMO[0], name="Demo Customer")
        return {
            IDENTITY_HEADER: IdentityVerifier(load_identity_key(self.home)).sign(who, ttl=120),
            "Cookie": f"csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
        }

    def order(self, user_id: int, order_no: str) -> dict[str, Any] | None:
        response = self.client.get(f"/api/orders/{order_no}", headers=self.headers(user_id))
        return response.json() if response.status_code == 200 else None

    def rows(self, order_no: str) -> int:
        return int(
            self.stack.scalar("orders", "SELECT count(*) FROM orders_order WHERE order_no = :no", no=order_no)
        )


def _legacy_customer(stack: SyncStack) -> httpx2.Client:
    """The demo customer logged in to the monolith (session and CSRF cookie)."""
    client = httpx2.Client(base_url=stack.legacy_url, timeout=30)
    page = client.get("/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    login = client.post(
        "/accounts/login/", data={"username": DEMO[0], "password": DEMO[1], "csrfmiddlewaretoken": token}
    )
    assert login.status_code == 302, login.text[:500]
    return client


def _checkout_on_the_monolith(client: httpx2.Client, items: list[dict[str, int]]) -> dict[str, Any]:
    csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
    assert client.post("/api/cart", json={"items": items}, headers=csrf).status_code == 200
    response = client.post("/api/orders", headers=csrf)
    assert response.status_code == 201, response.text
    return response.json()


def _in_stock(stack: SyncStack, count: int) -> list[int]:
    return [
        row[0]
        for row in stack.rows(
            "legacy",
            "SELECT prd_id FROM tbl_product WHERE sts_cd = 'A' AND stk_qty >= 5 ORDER BY prd_id LIMIT :n",
            n=count,
        )
    ]


def _redeliver_everything(stack: SyncStack) -> None:
    """Every published event comes to the orders consumer again (its offset or its group rewound)."""
    if stack.env["STRANGLER_SYNC_TRANSPORT"] == "redis":
        import redis

        client = redis.Redis.from_url(stack.env["STRANGLER_SYNC_REDIS_URL"])
        try:
            client.xgroup_setid(stack.env["STRANGLER_SYNC_STREAM"], "orders", id="0")
        finally:
            client.close()
    else:
        stack.execute("sync", "UPDATE sync_offsets SET position = 0 WHERE consumer = 'orders'")


def _backlog(stack: SyncStack) -> int:
    from acl.sync.bootstrap import transport
    from acl.sync.core.engines import make_engine
    from acl.sync.settings import SyncSettings

    settings = SyncSettings(
        STRANGLER_SYNC_DATABASE_URL=stack.sync_database_url,
        STRANGLER_SYNC_TRANSPORT=stack.env["STRANGLER_SYNC_TRANSPORT"],
        STRANGLER_SYNC_REDIS_URL=stack.env["STRANGLER_SYNC_REDIS_URL"],
        STRANGLER_SYNC_STREAM=stack.env["STRANGLER_SYNC_STREAM"],
    )
    engine = make_engine(settings.sync_database_url)
    try:
        with transport(settings, engine) as chosen:
            return chosen.backlog("orders").count
    finally:
        engine.dispose()


def _exercise(stack: SyncStack, orders_database_url: str | None) -> None:
    with ExitStack() as running:
        orders = OrdersSide(stack, orders_database_url, running)
        stack.database_urls["orders"] = orders.database_url
        reverse_env = {
            "STRANGLER_SYNC_ORIGIN": "orders",
            "STRANGLER_SYNC_SERVICE_DATABASE_URL": orders.database_url,
        }
        # 0. The orders the monolith already holds (seeded: no outbox events) are backfilled.
        backfill = stack.sync("backfill", "orders", "--no-progress")
        assert "read 2, written 2, rejected 0" in backfill.stdout and "complete" in backfill.stdout
        stack.start("relay")
        stack.start("consume-orders")
        stack.start("reverse", name="reverse-orders", env=reverse_env)
        demo_id = int(stack.scalar("legacy", "SELECT id FROM auth_user WHERE username = :u", u=DEMO[0]))
        first, second = _in_stock(stack, 2)

        # 1. A checkout on the monolith appears in the orders service's history.
        customer = _legacy_customer(stack)
        running.callback(customer.close)
        placed = _checkout_on_the_monolith(customer, [{"product_id": first, "quantity": 2}])
        synced = eventually(
            lambda: orders.order(demo_id, placed["order_no"]),
            timeout=30,
            what="the order in the orders service",
        )
        assert (synced["status"], synced["total"], synced["ordered_at"]) == (
            placed["status"],
            placed["total"],
            placed["ordered_at"],
        )
        assert [(line["product_id"], line["quantity"], line["unit_price"]) for line in synced["lines"]] == [
            (line["product_id"], line["quantity"], line["unit_price"]) for line in placed["lines"]
        ]
        assert synced["lines"][0]["sku"] == placed["lines"][0]["sku"]

        # 2. Every event delivered again: the inbox drops them, nothing is applied twice. The order's
        # status is changed in the service's database first, so a second apply would show.
        stack.stop("consume-orders")
        stack.execute(
            "orders", "UPDATE orders_order SET status = 'shipped' WHERE order_no = :no", no=placed["order_no"]
        )
        applied_before = stack.scalar(
            "sync", "SELECT count(*) FROM sync_inbox WHERE consumer = 'orders' AND outcome = 'applied'"
        )
        _redeliver_everything(stack)
        assert _backlog(stack) > 0
        stack.start("consume-orders")
        eventually(lambda: _backlog(stack) == 0, timeout=30, what="the redelivered events consumed")
        assert orders.order(demo_id, placed["order_no"])["status"] == "shipped"
        eventually(
            lambda: (
                stack.scalar("sync", "SELECT backlog FROM sync_lag WHERE direction = 'forward:orders'") == 0
            ),
            what="the orders consumer's lag row at backlog 0",
        )
        assert orders.rows(placed["order_no"]) == 1
        assert (
            stack.scalar(
                "sync", "SELECT count(*) FROM sync_inbox WHERE consumer = 'orders' AND outcome = 'applied'"
            )
            == applied_before
        )

        # 3. A checkout on the orders service reaches the monolith (reverse relay) and comes back on the
        # stream with origin "orders": recorded as an echo, never applied as a second order.
        headers = {**orders.headers(demo_id), "Idempotency-Key": "forward-orders-1"}
        response = orders.client.post(
            "/api/orders", json={"items": [{"product_id": second, "quantity": 1}]}, headers=headers
        )
        assert response.status_code == 201, response.text
        own = response.json()
        eventually(
            lambda: stack.scalar(
                "legacy", "SELECT count(*) FROM tbl_order WHERE ord_no = :no", no=own["order_no"]
            ),
            timeout=30,
            what="the service's order in the monolith",
        )
        eventually(
            lambda: (
                stack.scalar(
                    "sync", "SELECT count(*) FROM sync_inbox WHERE consumer = 'orders' AND outcome = 'echo'"
                )
                == 1
            ),
            timeout=30,
            what="the echo recorded by the orders consumer",
        )
        assert orders.rows(own["order_no"]) == 1
        assert orders.order(demo_id, own["order_no"])["lines"] == own["lines"]
        assert stack.scalar("orders", "SELECT count(*) FROM orders_order") == 4

        # 4. Reconcile sees both sides agree, except for the status changed behind sync's back in step 2.
        result = stack.sync("reconcile", "orders", "--json", check=False)
        assert result.returncode == 1, result.stderr
        assert result.stdout, result.stderr
        report = json.loads(result.stdout)
        assert (report["legacy_count"], report["service_count"], report["rejected_legacy_ids"]) == (4, 4, [])
        assert report["differences"] == [
            {"order_no": placed["order_no"], "kind": "different", "fields": ["status"]}
        ]
        # Every order event of either side is reflected on the other (the backfilled ones by the sequence
        # the backfill seeded), so the history check finds no loss.
        assert report["history"]["ok"] is True, report["history"]


def test_orders_sync_forward_on_sqlite(tmp_path: Path) -> None:
    with running_sync_stack(tmp_path) as stack:
        _exercise(stack, None)


@pytest.mark.postgres
@pytest.mark.redis
def test_orders_sync_forward_on_postgres_over_redis(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with (
        temporary_postgres_database() as orders_url,
        running_sync_stack(
            tmp_path,
            legacy_database_url=postgres_url,
            catalog_database_url=postgres_url,
            sync_database_url=postgres_url,
            redis_url=redis_url,
        ) as stack,
    ):
        _exercise(stack, orders_url)


@pytest.fixture(autouse=True)
def _no_inherited_sync_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The processes take their origin and databases from the test, never from the caller's environment."""
    for name in ("STRANGLER_SYNC_ORIGIN", "STRANGLER_SYNC_ORDERS_ORIGIN", "ORDERS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
