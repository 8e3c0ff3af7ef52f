"""Products, as clients see them: the same request to the monolith and to the catalog service must get
the same status, the same meaningful headers and the same body (JSON byte for byte; HTML byte for byte
once the per-response CSRF form token is masked)."""

from __future__ import annotations

import difflib
import json
import re
from urllib.parse import quote

import pytest

from tests.contract.sides import SEED_PRODUCTS, Answer, Side, fetch, mask_csrf

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("catalog_contract")]

COMPARED_HEADERS = (
    "content-type",
    "allow",
    "www-authenticate",
    "location",
    "vary",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
)
_COOKIE_VARIABLE = re.compile(r"(csrftoken=)[A-Za-z0-9]+|(expires=)[^;]+", re.IGNORECASE)


def _cookie_shape(value: str | None) -> str | None:
    return None if value is None else _COOKIE_VARIABLE.sub(lambda m: (m.group(1) or m.group(2)) + "*", value)


def _diff(expected: bytes, actual: bytes) -> str:
    lines = difflib.unified_diff(
        expected.decode(errors="replace").splitlines(),
        actual.decode(errors="replace").splitlines(),
        "monolith",
        "catalog",
        lineterm="",
    )
    return "\n".join(list(lines)[:60])


def assert_same(expected: Answer, actual: Answer, what: str) -> None:
    assert (actual.status, actual.reason) == (expected.status, expected.reason), what
    for header in COMPARED_HEADERS:
        assert actual.headers.get(header) == expected.headers.get(header), f"{what}: header {header}"
    assert _cookie_shape(actual.headers.get("set-cookie")) == _cookie_shape(
        expected.headers.get("set-cookie")
    )
    if expected.headers.get("content-type") == "application/json" and expected.body:
        assert json.loads(actual.body) == json.loads(expected.body), what
    left, right = mask_csrf(expected.body), mask_csrf(actual.body)
    assert right == left, f"{what}: bodies differ\n{_diff(left, right)}"


def both(monolith: Side, catalog: Side, method: str, path: str, **headers: str) -> tuple[Answer, Answer]:
    return fetch(monolith, method, path, headers), fetch(catalog, method, path, headers)


API_CASES = [
    "/api/products",
    "/api/products?page=2",
    "/api/products?page_size=100&page=2",
    "/api/products?page_size=7&page=29",
    *[
        f"/api/products?sort={sort}&page_size=50"
        for sort in ("id", "name", "-name", "price", "-price", "sku", "-sku")
    ],
    "/api/products?q=oak",
    "/api/products?q=OAK&sort=-price&page_size=5&page=2",
    "/api/products?q=ls-00001",
    "/api/products?q=%20steel%20",
    "/api/products?q=%25",
    "/api/products?q=OaK%20&sort=-sku&page_size=3&category=%20Home%20",
    "/api/products?q=caf%C3%A9",
    "/api/products?category=Home",
    "/api/products?category=Home%3EKitchen",
    "/api/products?category=Home%3EKitchen%3EKnives&sort=name",
    "/api/products?category=Home%3EKit",
    "/api/products?category=Nowhere",
    "/api/products?status=active&page_size=3",
    "/api/products?status=discontinued",
    "/api/products?min_price=100&max_price=200.5&sort=price",
    "/api/products?min_price=0&max_price=0",
    "/api/products?sort=name&q=oak&category=Home&status=active&min_price=1&max_price=400&page_size=2&page=2",
    "/api/products?page_size=5&page_size=3&q=&category=",
    # bad parameters, one check after the other in the monolith's order
    "/api/products?page=999",
    "/api/products?page=0",
    "/api/products?page=-3",
    "/api/products?page=abc",
    "/api/products?page=%20",
    "/api/products?page_size=101",
    "/api/products?page_size=0",
    "/api/products?sort=bogus",
    "/api/products?sort=-id",
    "/api/products?status=gone",
    "/api/products?min_price=abc",
    "/api/products?max_price=-1",
    "/api/products?min_price=NaN",
    "/api/products?sort=bogus&status=gone&page=0",
    # details and unknown paths
    "/api/products/1",
    f"/api/products/{SEED_PRODUCTS}",
    "/api/products/999999",
    "/api/products/0",
    "/api/products/abc",
    "/api/products/",
    "/api/products/1/",
    "/api",
    "/api/",
    "/api/nothing/here",
]


@pytest.mark.parametrize("path", API_CASES)
def test_api_get(monolith: Side, catalog: Side, path: str) -> None:
    assert_same(*both(monolith, catalog, "GET", path), f"GET {path}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/api/products"),
        ("OPTIONS", "/api/products"),
        ("OPTIONS", "/api/products/1"),
        ("TRACE", "/api/products/1"),
        ("GET", "/api/products/1/stock"),
        ("POST", "/api/products/1/stock"),
        ("POST", "/api/products"),
        ("PUT", "/api/products/1"),
        ("DELETE", "/api/products/1"),
        ("POST", "/api/nothing"),
        ("POST", "/products/"),
        ("HEAD", "/products/"),
        ("HEAD", "/products/1/"),
        ("OPTIONS", "/products/1/"),
    ],
)
def test_other_methods(monolith: Side, catalog: Side, method: str, path: str) -> None:
    assert_same(*both(monolith, catalog, method, path), f"{method} {path}")


@pytest.mark.parametrize("path", ["/api/products/1", "/products/1/"])
def test_wrong_method_with_a_valid_csrf_token_is_a_405(monolith: Side, catalog: Side, path: str) -> None:
    secret = "c" * 32
    headers = {"Cookie": f"csrftoken={secret}", "X-CSRFToken": secret}
    expected, actual = both(monolith, catalog, "PUT", path, **headers)
    assert expected.status == 405
    assert_same(expected, actual, f"PUT {path} with CSRF")


@pytest.mark.parametrize(
    ("cookie", "token"),
    [("c" * 32, ""), ("c" * 32, "d" * 32), ("c" * 31, "c" * 32), ("c" * 32, "c" * 63), ("c" * 32, "é" * 32)],
)
def test_csrf_rejections_give_the_same_reason(monolith: Side, catalog: Side, cookie: str, token: str) -> None:
    headers = {"Cookie": f"csrftoken={cookie}"}
    if token:
        headers["X-CSRFToken"] = token
    assert_same(
        *both(monolith, catalog, "DELETE", "/api/products/1", **headers), f"DELETE {cookie!r} {token!r}"
    )


PAGE_CASES = [
    "/",
    "/products/",
    "/products/?page=2",
    "/products/?page=999",
    "/products/?page=0",
    "/products/?page=abc",
    "/products/?q=oak",
    "/products/?q=oak&page=2",
    f"/products/?category={quote('Home>Kitchen')}",
    f"/products/?category={quote('Home>Kitchen>Knives')}&q=steel",
    "/products/?category=Nowhere&q=oak",
    f"/products/?q={'x' * 101}",
    "/products/?q=%22%3Cb%3E%27",
    "/products/?q=zzzz-nothing",
    "/products/?q=x&page=1&q=oak&page=2",
    f"/products/?category={quote('Home>Kitchen')}&category=&q=%20steel",
    "/products/1/",
    f"/products/{SEED_PRODUCTS}/",
    "/products/999999/",
    "/products",
    "/products?q=a%20b",
    "/products/1",
]


@pytest.mark.parametrize("path", PAGE_CASES)
def test_html_pages(monolith: Side, catalog: Side, path: str) -> None:
    assert_same(*both(monolith, catalog, "GET", path), f"GET {path}")


def test_detail_page_reuses_the_visitors_csrf_cookie_like_the_monolith(monolith: Side, catalog: Side) -> None:
    cookie = "csrftoken=" + "k" * 32
    expected, actual = both(monolith, catalog, "GET", "/products/2/", Cookie=cookie)
    assert_same(expected, actual, "detail with cookie")
    assert actual.headers["set-cookie"].startswith(cookie + ";")


def test_every_product_and_every_page_in_every_order(monolith: Side, catalog: Side) -> None:
    for product_id in range(1, SEED_PRODUCTS + 1):
        assert_same(*both(monolith, catalog, "GET", f"/api/products/{product_id}"), f"product {product_id}")
    for sort in ("id", "name", "-name", "price", "-price", "sku", "-sku"):
        for page in (1, 2):
            path = f"/api/products?sort={sort}&page_size=100&page={page}"
            assert_same(*both(monolith, catalog, "GET", path), path)


def test_discontinued_product_pages(monolith: Side, catalog: Side) -> None:
    listing = json.loads(fetch(monolith, "GET", "/api/products?status=discontinued&page_size=3").body)
    assert listing["results"], "the seed should hold discontinued products"
    for item in listing["results"]:
        assert_same(*both(monolith, catalog, "GET", f"/products/{item['id']}/"), f"detail {item['id']}")


def test_health_endpoints_answer_on_both_sides(monolith: Side, catalog: Side) -> None:
    for path in ("/healthz", "/readyz"):
        expected, actual = both(monolith, catalog, "GET", path)
        assert (actual.status, json.loads(actual.body)["status"]) == (
            expected.status,
            json.loads(expected.body)["status"],
        )
