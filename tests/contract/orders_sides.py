"""Both sides of the orders contract as real processes, as a customer reaches them.

The monolith (LegacyShop under gunicorn, migrated and seeded) is one side, reached directly. The other
is the front door (the real data plane) with ``/api/orders`` and the ``/orders/`` pages on the orders
service (gunicorn), the home and product pages on the catalog service (gunicorn), and
everything else (log-in, pages, the cart) on that same monolith: the state of a customer who was
browsing when the route moved. The orders service holds the monolith's orders through the ACL's
backfill, takes stock from the monolith and reads the session cart through its session-state bridge.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, Rule, RuleAction, RuleMatch, Upstream
from tests.contract.sides import _run
from tests.integration.dataplane.harness import Store, start_dataplane, table
from tests.support.legacy_shop import prepare_legacy_shop, start_legacy_shop
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, RunningProcess, start_process

__all__ = ["CUSTOMER", "DEMO", "STAFF", "Customer", "OrdersSides", "running_orders_sides"]

DEMO = ("demo", "demo-password-123")
CUSTOMER = ("customer0001", "customer-password-123")
STAFF = ("staff", "staff-password-123")
SEED = ["--products", "40", "--customers", "2", "--orders", "14", "--seed", "18"]
_LOGIN_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class OrdersSides:
    monolith_url: str
    service_url: (
        str  # the front door: /api/orders and /orders/ on the orders service, the rest on the monolith
    )
    legacy: RunningProcess
    orders: RunningProcess
    catalog: RunningProcess
    dataplane: RunningProcess
    store: Store | None = None
    """The data plane's store, for a test that publishes another table."""
    orders_url: str = ""
    catalog_url: str = ""

    def url(self, side: str) -> str:
        return self.monolith_url if side == "monolith" else self.service_url


class Customer:
    """A browser: cookies kept, redirects not followed, the CSRF cookie sent back as ``X-CSRFToken``."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx2.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def log_in(self, username: str, password: str) -> Customer:
        page = self.http.get("/accounts/login/")
        token = _LOGIN_TOKEN.search(page.text)
        assert token is not None, page.text[:500]
        done = self.http.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        )
        assert done.status_code == 302, done.text[:500]
        return self

    @property
    def csrf(self) -> dict[str, str]:
        if "csrftoken" not in self.http.cookies:
            self.http.get("/api/cart")
        return {"X-CSRFToken": self.http.cookies["csrftoken"]}

    def fill_cart(self, lines: dict[int, int]) -> dict[str, Any]:
        items = [{"product_id": pid, "quantity": qty} for pid, qty in lines.items()]
        answer = self.http.post("/api/cart", json={"items": items}, headers=self.csrf)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def leave_flash_message(self, product_id: int) -> None:
        """Add one unit through the monolith's HTML form, which leaves "Added 1 x ... to your cart." for
        the next page (the redirect to the cart is not followed: the message stays pending)."""
        answer = self.http.post(
            f"/cart/add/{product_id}/",
            data={"quantity": "1", "csrfmiddlewaretoken": self.csrf["X-CSRFToken"]},
        )
        assert answer.status_code == 302, answer.text[:500]

    def checkout(self, **headers: str) -> httpx2.Response:
        return self.http.post(
            "/api/orders", content=b"", headers={**self.csrf, "Content-Type": "application/json", **headers}
        )

    def close(self) -> None:
        self.http.close()


@contextmanager
def running_orders_sides(
    workdir: Path, *, orders_database_url: str | None = None, legacy_database_url: str | None = None
) -> Iterator[OrdersSides]:
    home = workdir / "home"
    # in $STRANGLER_HOME/legacy: where the data plane and the orders service find its internal token
    monolith = prepare_legacy_shop(home / "legacy", seed=SEED, workers=2, database_url=legacy_database_url)
    legacy_db, legacy_url = monolith.database_url, monolith.url
    orders_port, catalog_port = free_port(), free_port()

    orders_env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_LEGACY_URL": legacy_url,
        "ORDERS_PORT": str(orders_port),
        "ORDERS_WORKERS": "2",
        # no staff credentials: the service calls the stock API with its own scoped token, which the
        # monolith writes to $STRANGLER_HOME/legacy/service_tokens/orders when it first starts
    }
    if orders_database_url is not None:
        orders_env["ORDERS_DATABASE_URL"] = orders_database_url
    _run([sys.executable, "-m", "new_services.orders", "migrate"], orders_env, "orders migrate")
    backfill_env = {
        **orders_env,
        "STRANGLER_SYNC_LEGACY_DATABASE_URL": legacy_db,
        "STRANGLER_SYNC_DATABASE_URL": f"sqlite:///{workdir / 'sync.sqlite3'}",
    }
    report = _run(
        [sys.executable, "-m", "acl.sync", "backfill", "orders", "--no-progress"],
        backfill_env,
        "orders backfill from the legacy database",
    )
    if "written 14, rejected 0" not in report:
        raise RuntimeError(f"backfill did not copy every order: {report}")
    catalog_env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_LEGACY_URL": legacy_url,
        "CATALOG_PORT": str(catalog_port),
        "CATALOG_WORKERS": "1",
    }
    _run(
        [sys.executable, "-m", "new_services.catalog", "backfill", "--legacy-database-url", legacy_db],
        catalog_env,
        "catalog backfill from the legacy database",
    )

    with ExitStack() as stack:
        legacy = start_legacy_shop(monolith)
        stack.callback(legacy.stop)
        orders = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/orders/gunicorn.conf.py",
                "new_services.orders.entrypoints.wsgi:app",
            ],
            log_path=workdir / "orders.log",
            env=orders_env,
            ready_url=f"http://127.0.0.1:{orders_port}/readyz",
        )
        stack.callback(orders.stop)
        catalog = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/catalog/gunicorn.conf.py",
                "new_services.catalog.entrypoints.wsgi:app",
            ],
            log_path=workdir / "catalog.log",
            env=catalog_env,
            ready_url=f"http://127.0.0.1:{catalog_port}/readyz",
        )
        stack.callback(catalog.stop)
        store = Store(workdir / "store.sqlite3")
        stack.callback(store.engine.dispose)
        version = store.publish(
            table(
                [
                    Upstream(name=LEGACY, url=legacy_url),
                    Upstream(name="orders", url=f"http://127.0.0.1:{orders_port}"),
                    Upstream(name="catalog", url=f"http://127.0.0.1:{catalog_port}"),
                ],
                [
                    Rule(
                        name="orders-api",
                        match=RuleMatch(path="/api/orders"),
                        action=RuleAction(mode=ActionMode.NEW, upstream="orders"),
                    ),
                    Rule(
                        name="home",
                        match=RuleMatch(kind=MatchKind.EXACT, path="/"),
                        action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
                    ),
                    Rule(
                        name="product-pages",
                        match=RuleMatch(path="/products/"),
                        action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
                    ),
                    Rule(
                        name="orders-pages",
                        match=RuleMatch(path="/orders/"),
                        action=RuleAction(mode=ActionMode.NEW, upstream="orders"),
                    ),
                ],
            )
        )
        dataplane = start_dataplane(home, store, legacy_url)
        stack.callback(dataplane.process.stop)
        store.wait_applied(version, workers=1)
        yield OrdersSides(
            legacy_url,
            dataplane.url,
            legacy,
            orders,
            catalog,
            dataplane.process,
            store,
            f"http://127.0.0.1:{orders_port}",
            f"http://127.0.0.1:{catalog_port}",
        )
