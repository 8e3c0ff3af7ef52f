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

from locust import HttpUser, between, tag, task

SEARCH_TERMS = ("knife", "pan", "LS-0000", "lamp", "mug", "chair", "steel", "classic", "board", "towel")
CATEGORIES = ("Home", "Home>Kitchen", "Garden", "Office")
DEFAULT_PASSWORD = "customer-password-123"

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
        body = {"product_id": random.choice(self.products), "quantity": 1}
        with self.client.post(
            "/api/cart/items", json=body, headers=self._csrf(), name="/api/cart/items", catch_response=True
        ) as response:
            # A product discontinued meanwhile is a normal answer of the shop, not a failure.
            if response.status_code in (201, 409):
                response.success()

    @tag("cart")
    @task(2)
    def view_cart(self) -> None:
        if random.random() < 0.5:
            self.client.get("/api/cart", name="/api/cart")
        else:
            self.client.get("/cart/", name="/cart/")

    @tag("checkout")
    @task(1)
    def checkout(self) -> None:
        self.client.get("/api/cart", name="/api/cart")
        self.client.post(
            "/api/cart/items",
            json={"product_id": random.choice(self.products), "quantity": 1},
            headers=self._csrf(),
            name="/api/cart/items",
        )
        with self.client.post(
            "/api/orders", json={}, headers=self._csrf(), name="/api/orders [checkout]", catch_response=True
        ) as response:
            # Out of stock (409) or a cart emptied by a parallel checkout (400) are business answers.
            if response.status_code in (201, 400, 409):
                response.success()

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
