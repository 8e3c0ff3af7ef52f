"""The orders service under real gunicorn, reserving stock in a real monolith (gunicorn) over HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier, load_identity_key
from tests.support.legacy_shop import prepare_legacy_shop, start_legacy_shop
from tests.support.net import free_port, wait_for_http
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("orders_gunicorn")]

DEMO = CustomerIdentity(user_id=1, username="demo", name="Demo Customer")
CSRF_SECRET = "c" * 32


@dataclass
class Stack:
    legacy_url: str
    orders_url: str
    orders: RunningProcess
    verifier: IdentityVerifier

    def identity(self, who: CustomerIdentity = DEMO) -> dict[str, str]:
        """What the proxy forwards for a logged-in browser: the signed identity and the CSRF pair."""
        return {
            IDENTITY_HEADER: self.verifier.sign(who, ttl=60),
            "Cookie": f"csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
        }


def call(method: str, url: str, body: object = None, headers: dict[str, str] | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    legacy_dir = tmp_path_factory.mktemp("legacy")
    home = tmp_path_factory.mktemp("strangler_home")
    orders_port = free_port()
    monolith = prepare_legacy_shop(
        legacy_dir, seed=["--products", "20", "--customers", "2", "--orders", "1", "--seed", "7"], workers=1
    )
    legacy_port = monolith.port
    legacy = start_legacy_shop(monolith)
    key = load_identity_key(home)  # the proxy's side of the shared key
    orders_env = {
        "STRANGLER_HOME": str(home),
        "ORDERS_PORT": str(orders_port),
        "ORDERS_WORKERS": "2",
        "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{legacy_port}",
        # as a service: the monolith's scoped token for the orders service (written at its start)
        "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(legacy_dir / "service_tokens" / "orders"),
        "ORDERS_CART_IN_BODY": "true",  # these checkouts send their cart in the body (the extension)
    }
    try:
        orders = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/orders/gunicorn.conf.py",
                "new_services.orders.entrypoints.wsgi:app",
            ],
            log_path=home / "orders.log",
            env=orders_env,
            ready_url=f"http://127.0.0.1:{orders_port}/readyz",
        )
        try:
            yield Stack(
                f"http://127.0.0.1:{legacy_port}",
                f"http://127.0.0.1:{orders_port}",
                orders,
                IdentityVerifier(key),
            )
        finally:
            orders.stop()
    finally:
        legacy.stop()


def legacy_stock(stack: Stack, product_id: int) -> int:
    status, body, _ = call("GET", f"{stack.legacy_url}/api/products/{product_id}")
    assert status == 200
    return body["stock"]


def test_database_lives_under_strangler_home_and_is_ready(stack: Stack) -> None:
    home = Path(stack.orders.env["STRANGLER_HOME"])
    assert (home / "services" / "orders" / "orders.sqlite3").exists()
    assert call("GET", f"{stack.orders_url}/readyz")[:2] == (
        200,
        {"status": "ready", "checks": {"database": "ok"}},
    )


def test_anonymous_and_forged_identities_get_401(stack: Stack) -> None:
    forged = {IDENTITY_HEADER: "v1.eyJzdWIiOiIxIn0.AAAA", "X-User-Id": "1"}
    for headers in ({}, forged):
        status, body, response_headers = call("GET", f"{stack.orders_url}/api/orders", headers=headers)
        assert status == 401
        assert body["error"]["code"] == "not_authenticated"
        assert "Basic" in response_headers["WWW-Authenticate"]


def test_checkout_takes_stock_in_the_monolith_and_is_idempotent(stack: Stack) -> None:
    before = legacy_stock(stack, 3)
    assert before >= 2
    cart = {"items": [{"product_id": 3, "quantity": 2}]}
    headers = {**stack.identity(), "Idempotency-Key": "it-checkout-1"}
    status, order, response_headers = call("POST", f"{stack.orders_url}/api/orders", cart, headers)
    assert status == 201, order
    assert response_headers["Location"] == f"/api/orders/{order['order_no']}"
    assert legacy_stock(stack, 3) == before - 2

    again = call(
        "POST",
        f"{stack.orders_url}/api/orders",
        cart,
        {**stack.identity(), "Idempotency-Key": "it-checkout-1"},
    )
    assert again[:2] == (201, order)
    assert legacy_stock(stack, 3) == before - 2

    status, history, _ = call("GET", f"{stack.orders_url}/api/orders", headers=stack.identity())
    assert status == 200 and order in history["results"]
    assert call("GET", f"{stack.orders_url}{response_headers['Location']}", headers=stack.identity())[:2] == (
        200,
        order,
    )


def test_insufficient_stock_on_a_later_line_gives_back_the_earlier_reservation(stack: Stack) -> None:
    first, scarce = legacy_stock(stack, 4), legacy_stock(stack, 5)
    cart = {"items": [{"product_id": 4, "quantity": 1}, {"product_id": 5, "quantity": scarce + 1}]}
    status, body, _ = call("POST", f"{stack.orders_url}/api/orders", cart, stack.identity())
    assert status == 409
    assert body["error"]["code"] == "insufficient_stock"
    assert (body["error"]["product_id"], body["error"]["available"]) == (5, scarce)
    assert (legacy_stock(stack, 4), legacy_stock(stack, 5)) == (first, scarce)


def test_shadow_checkout_answers_and_changes_nothing(stack: Stack) -> None:
    before = legacy_stock(stack, 6)
    count = call("GET", f"{stack.orders_url}/api/orders", headers=stack.identity())[1]["count"]
    cart = {"items": [{"product_id": 6, "quantity": 1}]}
    status, order, _ = call(
        "POST", f"{stack.orders_url}/api/orders", cart, {**stack.identity(), "X-Strangler-Shadow": "1"}
    )
    assert status == 201 and order["status"] == "new"
    assert legacy_stock(stack, 6) == before
    assert call("GET", f"{stack.orders_url}/api/orders", headers=stack.identity())[1]["count"] == count


def test_logs_are_json_lines_with_the_request_id(stack: Stack) -> None:
    # (health probes are logged at debug only, so an API request is the one looked for)
    call("GET", f"{stack.orders_url}/api/orders", headers={"X-Request-ID": "orders-it-42"})
    lines = [json.loads(line) for line in stack.orders.log().splitlines() if line.startswith("{")]
    assert any(
        line.get("request_id") == "orders-it-42" and line.get("path") == "/api/orders" for line in lines
    )


def test_metrics_add_up_every_workers_requests(stack: Stack) -> None:
    """Two gunicorn workers share their samples: whichever answers /metrics counts every request."""
    for _ in range(12):
        assert call("GET", f"{stack.orders_url}/api/orders")[0] == 401
    for _ in range(4):
        request = urllib.request.Request(f"{stack.orders_url}/metrics")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        assert "# TYPE orders_http_requests_total counter" in text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("orders_http_requests_total{") and 'status="401"' in line and "GET" in line
        )
        assert float(line.rsplit(" ", 1)[1]) >= 12.0
    home = Path(stack.orders.env["STRANGLER_HOME"])
    assert any((home / "services" / "orders" / "metrics").glob("*.db"))


def test_recover_command_finds_nothing_left_unfinished(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "new_services.orders", "recover", "--older-than", "0"],
        cwd=ROOT,
        env={**os.environ, **stack.orders.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("compensated 0 unfinished checkout(s)")


def _parallel(calls: list[Callable[[], tuple]]) -> list[tuple]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda fn: fn(), calls))


def test_parallel_checkouts_never_oversell(stack: Stack) -> None:
    staff = {"Authorization": "Basic " + base64.b64encode(b"staff:staff-password-123").decode()}
    status, _, _ = call("POST", f"{stack.legacy_url}/api/products/8/stock", {"quantity": 3}, staff)
    assert status == 200
    cart = {"items": [{"product_id": 8, "quantity": 1}]}
    results = _parallel(
        [lambda: call("POST", f"{stack.orders_url}/api/orders", cart, stack.identity()) for _ in range(5)]
    )
    statuses = sorted(result[0] for result in results)
    assert statuses == [201, 201, 201, 409, 409], [result[1] for result in results]
    assert legacy_stock(stack, 8) == 0


def test_parallel_retries_with_one_key_place_one_order(stack: Stack) -> None:
    before = legacy_stock(stack, 9)
    count = call("GET", f"{stack.orders_url}/api/orders", headers=stack.identity())[1]["count"]
    cart = {"items": [{"product_id": 9, "quantity": 1}]}
    headers = {**stack.identity(), "Idempotency-Key": "it-parallel-1"}
    results = _parallel(
        [lambda: call("POST", f"{stack.orders_url}/api/orders", cart, headers) for _ in range(4)]
    )
    created = [result[1] for result in results if result[0] == 201]
    in_progress = [result[1] for result in results if result[0] == 409]
    assert len(created) + len(in_progress) == 4 and created
    assert all(body == created[0] for body in created)
    assert all(body["error"]["code"] == "checkout_in_progress" for body in in_progress)
    assert legacy_stock(stack, 9) == before - 1
    assert call("GET", f"{stack.orders_url}/api/orders", headers=stack.identity())[1]["count"] == count + 1


def test_not_ready_until_migrated(tmp_path: Path) -> None:
    port = free_port()
    env = {"STRANGLER_HOME": str(tmp_path), "ORDERS_PORT": str(port), "ORDERS_WORKERS": "1"}
    process = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "new_services/orders/gunicorn.conf.py",
            "new_services.orders.entrypoints.wsgi:app",
        ],
        log_path=tmp_path / "orders.log",
        env={**env, "ORDERS_MIGRATE_ON_START": "false"},
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", expect_status=503, alive=process.alive)
        status, body, _ = call("GET", f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and "database at migration None, expected '0002'" in body["checks"]["database"]
        migrate = subprocess.run(
            [sys.executable, "-m", "new_services.orders", "migrate"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert migrate.returncode == 0, migrate.stderr
        assert call("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        process.stop()
