"""Realistic LegacyShop traffic through the front door: browse, search, product page, cart, checkout,
order history. The mix is described in loadtests/README.md.

    locust -f loadtests/shop.py --host http://127.0.0.1:8000            # web UI on :8089
    locust -f loadtests/shop.py --host http://127.0.0.1:8000 --headless -u 10 -r 5 -t 30s

Environment: LOADTEST_PRODUCT_IDS (comma separated; default: read from /api/products at start),
LOADTEST_CUSTOMERS (how many seeded customers ``customer0001``... to log in as, default 40),
LOADTEST_PASSWORD (their password, the seed's by default).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping

from locust import HttpUser, between, tag, task
from locust.clients import ResponseContextManager

SEARCH_TERMS = ("knife", "pan", "LS-0000", "lamp", "mug", "chair", "steel", "classic", "board", "towel")
CATEGORIES = ("Home", "Home>Kitchen", "Garden", "Office")
DEFAULT_PASSWORD = "customer-password-123"

Expected = Mapping[int, frozenset[str] | None]
"""What the monolith answers in a situation: status -> the error codes allowed with it (None: any body)."""


def _error_code(response: ResponseContextManager) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def judge(response: ResponseContextManager, expected: Expected, situation: str) -> bool:
    """Success only for what the monolith itself answers in ``situation``; else a failure with the reason.

    A status the monolith gives in this situation but with another error code (a 400 ``invalid_body``
    where only ``empty_cart`` is right) is a failure too: a service that changed the contract must not
    pass a load gate because its refusals share a status with the monolith's business answers.
    """
    codes = expected.get(response.status_code, frozenset())
    code = _error_code(response) if response.status_code >= 400 else ""
    if codes is None or (codes and code in codes):
        response.success()
        return True
    wanted = ", ".join(
        f"{status}" + (f" {'/'.join(sorted(allowed))}" if allowed else "")
        for status, allowed in expected.items()
    )
    got = f"{response.status_code}" + (f" {code}" if code else "")
    response.failure(f"{situation}: expected {wanted}, got {got}")
    return False


def _cart_count(response: ResponseContextManager) -> int | None:
    """The number of items in a cart answer, or None when the answer is not a cart."""
    try:
        items = response.json()["items"]
        return sum(int(item["quantity"]) for item in items)
    except (ValueError, KeyError, TypeError):
        return None


_products: list[int] = []
_products_lock = threading.Lock()


def _product_ids(user: HttpUser) -> list[int]:
    """Product ids to visit, read once per process (the env variable wins)."""
    with _products_lock:
        if not _products:
            configured = os.environ.get("LOADTEST_PRODUCT_IDS", "")
            if configured:
                _products.extend(int(item) for item in configured.split(",") if item.strip())
            else:
                with user.client.get(
                    "/api/products?page_size=100&status=active",
                    name="/api/products?page_size=100",
                    catch_response=True,
                ) as response:
                    if response.status_code == 200:
                        _products.extend(p["id"] for p in response.json()["results"] if p["stock"] > 0)
                    else:
                        response.failure(f"cannot list products: {response.status_code}")
        return list(_products) or [1]


class Browser(HttpUser):
    """An anonymous visitor: home page, listing pages, searches, product pages (HTML and JSON)."""

    weight = 3
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.products = _product_ids(self)

    @tag("browse")
    @task(2)
    def home(self) -> None:
        self.client.get("/", name="/")

    @tag("browse")
    @task(3)
    def listing(self) -> None:
        page = random.randint(1, 3)
        self.client.get(f"/products/?page={page}", name="/products/?page=")

    @tag("browse")
    @task(1)
    def category(self) -> None:
        self.client.get(
            "/api/products", params={"category": random.choice(CATEGORIES)}, name="/api/products?category="
        )

    @tag("search")
    @task(3)
    def search(self) -> None:
        term = random.choice(SEARCH_TERMS)
        if random.random() < 0.5:
            self.client.get("/api/products", params={"q": term, "sort": "price"}, name="/api/products?q=")
        else:
            self.client.get("/products/", params={"q": term}, name="/products/?q=")

    @tag("product")
    @task(4)
    def product_page(self) -> None:
        product = random.choice(self.products)
        self.client.get(f"/products/{product}/", name="/products/[id]/")

    @tag("product")
    @task(2)
    def product_json(self) -> None:
        product = random.choice(self.products)
        self.client.get(f"/api/products/{product}", name="/api/products/[id]")


class Shopper(HttpUser):
    """A logged-in customer: looks at products, fills the cart, checks out, reads the order history."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.products = _product_ids(self)
        self.cart_items = 0
        """Items in this shopper's session cart, as the shop's last cart answer said."""
        customers = int(os.environ.get("LOADTEST_CUSTOMERS", "40"))
        self.username = f"customer{random.randint(1, customers):04d}"
        self.log_in()

    def log_in(self) -> None:
        self.client.get("/accounts/login/", name="/accounts/login/")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": os.environ.get("LOADTEST_PASSWORD", DEFAULT_PASSWORD),
                "csrfmiddlewaretoken": token,
            },
            name="/accounts/login/ [POST]",
            catch_response=True,
        ) as response:
            if "sessionid" not in self.client.cookies:
                response.failure(f"login as {self.username} failed ({response.status_code})")

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    @tag("product")
    @task(3)
    def product_page(self) -> None:
        self.client.get(f"/products/{random.choice(self.products)}/", name="/products/[id]/")

    @tag("cart")
    @task(3)
    def add_to_cart(self) -> None:
        self._add_one()

    def _add_one(self) -> None:
        body = {"product_id": random.choice(self.products), "quantity": 1}
        with self.client.post(
            "/api/cart/items", json=body, headers=self._csrf(), name="/api/cart/items", catch_response=True
        ) as response:
            # A product discontinued meanwhile is the shop's own answer, not a failure.
            expected = {201: None, 409: frozenset({"product_discontinued"})}
            if (
                judge(response, expected, "adding an active product to the cart")
                and response.status_code == 201
            ):
                self._remember_cart(response)

    def _remember_cart(self, response: ResponseContextManager) -> None:
        count = _cart_count(response)
        if count is None:
            response.failure("a cart answer without the cart's items")
        else:
            self.cart_items = count

    @tag("cart")
    @task(2)
    def view_cart(self) -> None:
        if random.random() < 0.5:
            with self.client.get("/api/cart", name="/api/cart", catch_response=True) as response:
                if judge(response, {200: None}, "reading the session cart"):
                    self._remember_cart(response)
        else:
            self.client.get("/cart/", name="/cart/")

    @tag("checkout")
    @task(1)
    def checkout(self) -> None:
        with self.client.get("/api/cart", name="/api/cart", catch_response=True) as response:
            if judge(response, {200: None}, "reading the session cart"):
                self._remember_cart(response)
        self._add_one()
        with self.client.post(
            "/api/orders", json={}, headers=self._csrf(), name="/api/orders [checkout]", catch_response=True
        ) as response:
            if self.cart_items > 0:
                # With items in the session cart the monolith places the order (201), or refuses it for
                # stock (409); never "empty cart", never a 400 about the body.
                expected: Expected = {201: None, 409: frozenset({"insufficient_stock", "checkout_failed"})}
                situation = f"checking out a session cart of {self.cart_items} item(s)"
            else:
                expected = {400: frozenset({"empty_cart"})}
                situation = "checking out an empty session cart"
            if not judge(response, expected, situation):
                return
            if response.status_code == 201:
                if "order_no" not in (response.json() or {}):
                    response.failure("a placed order's answer without its order_no")
                    return
                self.cart_items = 0  # the monolith empties the session cart of a placed order

    @tag("orders")
    @task(2)
    def order_history(self) -> None:
        with self.client.get("/api/orders", name="/api/orders", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"order history answered {response.status_code}")
                return
            orders = response.json().get("results", [])
        if orders:
            number = random.choice(orders)["order_no"]
            self.client.get(f"/api/orders/{number}", name="/api/orders/[no]")

    @tag("orders")
    @task(1)
    def order_pages(self) -> None:
        self.client.get("/orders/", name="/orders/")
