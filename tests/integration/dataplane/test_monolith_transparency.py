"""The real monolith (gunicorn) through the real front door answers exactly as it does directly.

Pages, static files, the JSON API, login with CSRF, the cart session and the Django admin are driven
twice, once direct and once through the proxy, and the answers compared; the proxy is the Python data
plane, then the HAProxy engine.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, Upstream
from tests.integration.dataplane.harness import Store, start_dataplane, table
from tests.integration.engines.harness import start_engine
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, RunningProcess, run_manage, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("dataplane_monolith")]

_VOLATILE = {"date", "connection", "keep-alive", "transfer-encoding"}
_HTTP_DATE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
"""An IMF-fixdate. Django's ``never_cache`` sets ``Expires`` to the time of the answer, so the direct
and the proxied answers can be a second apart: the header must be there, and be a date."""
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@dataclass
class Monolith:
    url: str
    root: Path
    process: RunningProcess


@dataclass
class Stack:
    monolith_url: str
    front_url: str


@pytest.fixture(scope="module")
def monolith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monolith]:
    root = tmp_path_factory.mktemp("monolith")
    port = free_port()
    env = {
        "LEGACYSHOP_DATA_DIR": str(root / "legacy"),
        "LEGACYSHOP_PORT": str(port),
        "LEGACYSHOP_WORKERS": "2",
        "DATABASE_URL": f"sqlite:///{root / 'legacy' / 'legacy.sqlite3'}",
    }
    (root / "legacy").mkdir()
    run_manage(["migrate", "--noinput", "-v", "0"], env, timeout=180)
    run_manage(["seed", "--products", "50", "--customers", "3", "--orders", "5"], env, timeout=180)
    process = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "legacy_monolith/gunicorn.conf.py",
            "legacy_monolith.wsgi:application",
        ],
        log_path=root / "gunicorn.log",
        env=env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )
    yield Monolith(f"http://127.0.0.1:{port}", root, process)
    process.stop()


@pytest.fixture(scope="module", params=["dataplane", "haproxy"])
def stack(request: pytest.FixtureRequest, monolith: Monolith) -> Iterator[Stack]:
    root = monolith.root / request.param
    root.mkdir()
    store = Store(root / "store.sqlite3")
    store.publish(table([Upstream(name=LEGACY, url=monolith.url)]))
    if request.param == "dataplane":
        front = start_dataplane(root / "home", store, monolith.url, workers=2)
    else:
        front = start_engine(root / "home", store, monolith.url)
    yield Stack(monolith.url, front.url)
    front.process.stop()
    store.engine.dispose()


class Browser:
    """Keeps cookies and follows redirects like a browser; records every answer it saw."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self, method: str, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                final = response.geturl()[len(self.base_url) :]
                return response.status, list(response.headers.items()), response.read(), final
        except urllib.error.HTTPError as exc:
            return exc.code, list(exc.headers.items()), exc.read(), path

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)

    def csrf_from(self, path: str) -> str:
        _, _, page, _ = self.request("GET", path)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1).decode()

    def post_form(self, path: str, fields: dict[str, str]):  # type: ignore[no-untyped-def]
        body = urllib.parse.urlencode(fields).encode()
        return self.request(
            "POST", path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


def _comparable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower in _VOLATILE:
            continue
        if lower == "expires" and _HTTP_DATE.match(value):
            value = "<date>"
        if lower == "set-cookie":
            value = re.sub(r"^(csrftoken|sessionid)=[^;]*", r"\1=<token>", value)
            value = re.sub(r"expires=[^;]*", "expires=<date>", value)
        kept.append((lower, value))
    return kept


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/products/?q=steel&page=1",
        "/products/1/",
        "/products/99999/",
        "/static/legacyshop/shop.css",
        "/api/products?page=2&page_size=10&sort=sku",
        "/api/products/999999",
        "/api/no-such-endpoint",
        "/accounts/login/?next=/cart/",
        "/cart/",
    ],
)
def test_anonymous_answers_are_identical(stack: Stack, path: str) -> None:
    direct = Browser(stack.monolith_url).request("GET", path)
    proxied = Browser(stack.front_url).request("GET", path)
    assert proxied[0] == direct[0]
    assert _CSRF.sub(b"<csrf>", proxied[2]) == _CSRF.sub(b"<csrf>", direct[2])
    assert _comparable_headers([h for h in proxied[1] if not h[0].lower().startswith("x-strangler-")]) == (
        _comparable_headers(direct[1])
    )
    assert proxied[3] == direct[3]


def _login(browser: Browser, username: str, password: str, *, next_path: str = "/") -> tuple[int, str]:
    token = browser.csrf_from(f"/accounts/login/?next={next_path}")
    status, _, _, final = browser.post_form(
        f"/accounts/login/?next={next_path}",
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": next_path},
    )
    return status, final


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_login_with_csrf_and_cart_session(stack: Stack, via: str) -> None:
    browser = Browser(stack.monolith_url if via == "direct" else stack.front_url)
    status, final = _login(browser, "demo", "demo-password-123", next_path="/cart/")
    assert (status, final) == (200, "/cart/")
    assert browser.cookie("sessionid")
    token = browser.csrf_from("/products/3/")
    status, _, _, _ = browser.post_form("/cart/add/3/", {"quantity": "2", "csrfmiddlewaretoken": token})
    assert status == 200
    status, _, cart, _ = browser.request("GET", "/cart/")
    assert status == 200
    _, _, product, _ = browser.request("GET", "/api/products/3")
    name = re.search(rb'"name": ?"([^"]+)"', product).group(1)
    assert name in cart
    # a forged POST without the CSRF token is refused the same way through the proxy
    status, _, _, _ = browser.post_form("/cart/add/3/", {"quantity": "1"})
    assert status == 403


def test_wrong_password_is_refused_through_the_proxy(stack: Stack) -> None:
    browser = Browser(stack.front_url)
    status, final = _login(browser, "demo", "wrong-password")
    assert status == 200 and final.startswith("/accounts/login/")
    assert not [c for c in browser.jar if c.name == "sessionid"]


def test_django_admin_works_through_the_proxy(stack: Stack) -> None:
    browser = Browser(stack.front_url)
    token = browser.csrf_from("/admin/login/?next=/admin/")
    status, _, page, final = browser.post_form(
        "/admin/login/?next=/admin/",
        {
            "username": "staff",
            "password": "staff-password-123",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
    )
    assert (status, final) == (200, "/admin/")
    assert b"Site administration" in page
    status, _, listing, _ = browser.request("GET", "/admin/catalog/product/?o=1")
    assert status == 200 and b"50 products" in listing
    direct = Browser(stack.monolith_url).request("GET", "/admin/")
    proxied = Browser(stack.front_url).request("GET", "/admin/")
    assert (proxied[0], proxied[3]) == (direct[0], direct[3]) == (200, "/admin/login/?next=/admin/")
