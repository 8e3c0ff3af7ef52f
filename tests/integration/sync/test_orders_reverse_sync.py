"""Orders placed on the orders service reach the monolith through the reverse relay, stock taken once."""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier, load_identity_key
from tests.integration.sync.harness import eventually
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, run_manage, start_process

pytestmark = [pytest.mark.integration]

CSRF_SECRET = "c" * 32
DEMO_PASSWORD = "demo-password-123"


def _call(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _gunicorn(config: str, app: str, log: Path, env: dict[str, str], port: int):
    return start_process(
        [str(VENV_BIN / "gunicorn"), "-c", config, app],
        log_path=log,
        env=env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )


def test_a_checkout_on_the_orders_service_appears_in_the_monolith_once(tmp_path: Path) -> None:
    legacy_dir, home = tmp_path / "legacy", tmp_path / "home"
    legacy_dir.mkdir()
    legacy_port, orders_port, health_port = free_port(), free_port(), free_port()
    legacy_url = f"http://127.0.0.1:{legacy_port}"
    legacy_env = {
        "LEGACYSHOP_DATA_DIR": str(legacy_dir),
        "LEGACYSHOP_PORT": str(legacy_port),
        "LEGACYSHOP_WORKERS": "1",
        "DATABASE_URL": f"sqlite:///{legacy_dir / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    run_manage(["migrate", "--noinput", "-v", "0"], legacy_env)
    run_manage(["seed", "--products", "10", "--customers", "1", "--orders", "0", "--seed", "11"], legacy_env)
    with sqlite3.connect(legacy_dir / "legacy.sqlite3") as db:
        (demo_id,) = db.execute("SELECT id FROM auth_user WHERE username = 'demo'").fetchone()
    demo_auth = {"Authorization": "Basic " + base64.b64encode(f"demo:{DEMO_PASSWORD}".encode()).decode()}
    with ExitStack() as running:
        legacy = _gunicorn(
            "legacy_monolith/gunicorn.conf.py",
            "legacy_monolith.wsgi:application",
            legacy_dir / "gunicorn.log",
            legacy_env,
            legacy_port,
        )
        running.callback(legacy.stop)
        orders = _gunicorn(
            "new_services/orders/gunicorn.conf.py",
            "new_services.orders.entrypoints.wsgi:app",
            tmp_path / "orders.log",
            {
                "STRANGLER_HOME": str(home),
                "ORDERS_PORT": str(orders_port),
                "ORDERS_WORKERS": "1",
                "STRANGLER_LEGACY_URL": legacy_url,
                # as a service: the monolith's scoped token for the orders service
                "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(legacy_dir / "service_tokens" / "orders"),
                "ORDERS_CART_IN_BODY": "true",  # these checkouts send their cart in the body (the extension)
            },
            orders_port,
        )
        running.callback(orders.stop)
        relay = start_process(
            [sys.executable, "-m", "acl.sync", "reverse", "--health-port", str(health_port)],
            log_path=tmp_path / "reverse.log",
            env={
                "STRANGLER_HOME": str(home),
                "STRANGLER_SYNC_ORIGIN": "orders",
                "STRANGLER_SYNC_SERVICE_DATABASE_URL": f"sqlite:///{home / 'services/orders/orders.sqlite3'}",
                "STRANGLER_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'sync.sqlite3'}",
                "STRANGLER_SYNC_LEGACY_DATABASE_URL": legacy_env["DATABASE_URL"],
                "STRANGLER_LEGACY_URL": legacy_url,
                "LEGACYSHOP_DATA_DIR": str(legacy_dir),
            },
            ready_url=f"http://127.0.0.1:{health_port}/readyz",
        )
        running.callback(relay.stop)

        listed = _call("GET", f"{legacy_url}/api/products?page_size=50")[1]["results"]
        product_id, stock_before = next(
            (item["id"], item["stock"])
            for item in listed
            if item["stock"] >= 2 and item["status"] == "active"
        )
        who = CustomerIdentity(user_id=demo_id, username="demo", name="Demo Customer")
        headers = {
            IDENTITY_HEADER: IdentityVerifier(load_identity_key(home)).sign(who, ttl=60),
            "Cookie": f"csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
            "Idempotency-Key": "reverse-orders-1",
        }
        cart = {"items": [{"product_id": product_id, "quantity": 2}]}
        status, placed = _call("POST", f"http://127.0.0.1:{orders_port}/api/orders", cart, headers)
        assert status == 201, placed

        def in_the_monolith() -> dict[str, Any] | None:
            found = _call("GET", f"{legacy_url}/api/orders", headers=demo_auth)[1]["results"]
            return next((order for order in found if order["order_no"] == placed["order_no"]), None)

        legacy_order = eventually(in_the_monolith, what="the order in the monolith")
        assert (legacy_order["total"], legacy_order["status"]) == (placed["total"], placed["status"])
        assert [
            (line["product_id"], line["quantity"], line["unit_price"]) for line in legacy_order["lines"]
        ] == [(line["product_id"], line["quantity"], line["unit_price"]) for line in placed["lines"]]
        # The saga took the stock once through the stock API; applying the order took none.
        assert _call("GET", f"{legacy_url}/api/products/{product_id}")[1]["stock"] == stock_before - 2
