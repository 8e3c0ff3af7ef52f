"""LegacyShop served by the real gunicorn (2 workers) on a free port, against a fresh SQLite directory."""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("legacyshop_gunicorn")]

SEED_PRODUCTS = 200


@dataclass
class Shop:
    base_url: str
    process: RunningProcess
    data_dir: Path


def _manage(args: list[str], env: dict[str, str], *, as_script: bool = False) -> str:
    entry = ["legacy_monolith/manage.py"] if as_script else ["-m", "legacy_monolith.manage"]
    result = subprocess.run(
        [sys.executable, *entry, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir = tmp_path_factory.mktemp("legacyshop")
    port = free_port()
    env = {
        "LEGACYSHOP_DATA_DIR": str(data_dir),
        "LEGACYSHOP_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{data_dir / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    full_env = {**os.environ, **env}
    _manage(["migrate", "--noinput", "-v", "0"], full_env)
    output = _manage(
        ["seed", "--products", str(SEED_PRODUCTS), "--customers", "5", "--orders", "20"],
        full_env,
        as_script=True,
    )
    assert f"{SEED_PRODUCTS} products" in output
    process = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "legacy_monolith/gunicorn.conf.py",
            "legacy_monolith.wsgi:application",
        ],
        log_path=data_dir / "gunicorn.log",
        env=env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )
    try:
        yield Shop(f"http://127.0.0.1:{port}", process, data_dir)
    finally:
        process.stop()


class Browser:
    """Cookies and CSRF tokens like a browser keeps them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, *, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body: object = None, headers: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        status, _, content = self.request(
            method, path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        return status, json.loads(content)

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == name)


def test_health_and_readiness(shop: Shop) -> None:
    browser = Browser(shop.base_url)
    assert browser.json("GET", "/healthz") == (200, {"status": "ok"})
    assert browser.json("GET", "/readyz") == (200, {"status": "ready", "checks": {"database": "ok"}})
    assert (shop.data_dir / "secret_key").exists()


def test_pages_and_static_files_with_debug_off(shop: Shop) -> None:
    browser = Browser(shop.base_url)
    status, _, page = browser.request("GET", "/")
    assert status == 200
    assert b"LegacyShop" in page
    assert re.search(rb"\d+ products", page)
    status, _, page = browser.request("GET", "/products/?q=steel&page=1")
    assert status == 200
    status, headers, css = browser.request("GET", "/static/legacyshop/shop.css")
    assert b"masthead" in css
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert browser.request("GET", "/products/1/")[0] == 200
    assert browser.request("GET", "/products/99999/")[0] == 404


def test_product_api_over_http(shop: Shop) -> None:
    browser = Browser(shop.base_url)
    status, body = browser.json("GET", "/api/products?page=2&page_size=50&sort=sku")
    assert status == 200
    assert (body["count"], body["num_pages"], body["page"]) == (SEED_PRODUCTS, 4, 2)
    assert body["next"] == "/api/products?page=3&page_size=50&sort=sku"
    assert body["results"][0]["sku"] == "LS-000051"
    assert re.fullmatch(r"\d+\.\d\d", body["results"][0]["price"])
    status, body = browser.json("GET", "/api/products?page_size=500")
    assert status == 400
    assert body["error"]["field"] == "page_size"
    assert browser.json("GET", "/api/products/999999")[0] == 404


def test_login_checkout_and_stock_over_http(shop: Shop) -> None:
    browser = Browser(shop.base_url)
    status, _, page = browser.request("GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = f"username=demo&password=demo-password-123&csrfmiddlewaretoken={token}".encode()
    status, _, _ = browser.request(
        "POST", "/accounts/login/", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200  # followed the redirect to the shop
    assert browser.cookie("sessionid")

    _, products = browser.json("GET", "/api/products?status=active&sort=-price&page_size=1")
    product = products["results"][0]
    browser.json("GET", "/api/cart")
    csrf = {"X-CSRFToken": browser.cookie("csrftoken")}
    status, cart = browser.json("POST", "/api/cart/items", {"product_id": product["id"], "quantity": 1}, csrf)
    assert status == 201
    assert cart["total"] == product["price"]
    status, order = browser.json("POST", "/api/orders", headers=csrf)
    assert status == 201, order
    assert order["total"] == product["price"]
    status, mine = browser.json("GET", f"/api/orders/{order['order_no']}")
    assert status == 200
    assert mine["lines"][0]["product_id"] == product["id"]
    status, after = browser.json("GET", f"/api/products/{product['id']}")
    assert after["stock"] == product["stock"] - 1

    staff = base64.b64encode(b"staff:staff-password-123").decode()
    scripted = Browser(shop.base_url)
    status, updated = scripted.json(
        "POST", f"/api/products/{product['id']}/stock", {"quantity": 42}, {"Authorization": f"Basic {staff}"}
    )
    assert (status, updated["stock"]) == (200, 42)
    status, body = scripted.json("POST", f"/api/products/{product['id']}/stock", {"quantity": 1})
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


def test_host_header_from_the_proxy_is_accepted_unknown_hosts_refused(shop: Shop) -> None:
    browser = Browser(shop.base_url)
    assert browser.request("GET", "/api/products/1", headers={"Host": "localhost:8000"})[0] == 200
    assert browser.request("GET", "/api/products/1", headers={"Host": "evil.example"})[0] == 400


def test_access_log_goes_to_stdout(shop: Shop) -> None:
    Browser(shop.base_url).request("GET", "/healthz?from=access-log-test")
    # gunicorn writes the line after the response went out: poll the log briefly.
    deadline = time.monotonic() + 5
    while "GET /healthz?from=access-log-test" not in shop.process.log():
        assert time.monotonic() < deadline, shop.process.log()[-2000:]
        time.sleep(0.05)


def _logged_in(base_url: str, username: str, password: str) -> Browser:
    browser = Browser(base_url)
    _, _, page = browser.request("GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = f"username={username}&password={password}&csrfmiddlewaretoken={token}".encode()
    browser.request(
        "POST", "/accounts/login/", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert browser.cookie("sessionid")
    browser.json("GET", "/api/cart")
    return browser


def test_concurrent_checkouts_never_oversell(shop: Shop) -> None:
    """Five customers race for two items across both gunicorn workers: exactly two orders, stock 0."""
    from concurrent.futures import ThreadPoolExecutor

    staff = {"Authorization": "Basic " + base64.b64encode(b"staff:staff-password-123").decode()}
    _, products = Browser(shop.base_url).json("GET", "/api/products?status=active&sort=price&page_size=1")
    product_id = products["results"][0]["id"]
    assert (
        Browser(shop.base_url).json("POST", f"/api/products/{product_id}/stock", {"quantity": 2}, staff)[0]
        == 200
    )
    customers = [("demo", "demo-password-123")] + [
        (f"customer{n:04d}", "customer-password-123") for n in range(1, 5)
    ]
    browsers = [_logged_in(shop.base_url, name, password) for name, password in customers]
    for browser in browsers:
        csrf = {"X-CSRFToken": browser.cookie("csrftoken")}
        assert (
            browser.json("POST", "/api/cart/items", {"product_id": product_id, "quantity": 1}, csrf)[0] == 201
        )

    def checkout(browser: Browser) -> int:
        return browser.json("POST", "/api/orders", headers={"X-CSRFToken": browser.cookie("csrftoken")})[0]

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = sorted(pool.map(checkout, browsers))
    assert statuses == [201, 201, 409, 409, 409]
    _, after = Browser(shop.base_url).json("GET", f"/api/products/{product_id}")
    assert after["stock"] == 0
