"""The crash drill's load: customers checking out their session carts through the front door.

Each customer logs in once on the monolith's form (through the front door), then loops: empty the
session cart (``DELETE <empty_cart>``: what a refused checkout left there is let go), put one or two
products in it (``POST <cart> {product_id, quantity}``, the monolith's), then check the cart out
(``POST <checkout> {}`` with the CSRF token and an ``Idempotency-Key`` of its own), as a browser does:
first back to back for a few seconds (``measure_capacity``: the checkouts the route sustains), then at a
stated rate of checkouts (``start``; a customer whose last checkout came back late skips, never queues).
Every checkout goes to the :class:`CheckoutLedger`: acknowledged (201 with an order number and its
lines), refused (any other clear answer: out of stock, empty cart, the front door's "not sent" 5xx), or
unknown (no answer, a timeout, any other 5xx: the service may have placed the order before it died).
A checkout of unknown outcome is never retried during the load; :meth:`CheckoutLoad.settle_unknown` asks
again once, under the same key, after recovery (the service answers an idempotent retry with what it did).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2

from migration_plan.toolbox.drills.capacity import Capacity
from migration_plan.toolbox.drills.chaos_load import NOT_SENT_ERRORS, LoginFailed
from migration_plan.toolbox.drills.checkout_checks import Checkout, CheckoutLedger
from migration_plan.toolbox.drills.pacing import measure_closed_loop, paced_starts

__all__ = ["CheckoutLoad", "CheckoutLoadSettings", "Customer", "StockWatch", "error_code", "judge_checkout"]

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class CheckoutLoadSettings:
    front_url: str
    usernames: tuple[str, ...]
    password: str = field(repr=False)
    login: str
    cart: str
    empty_cart: str
    checkout: str
    products: tuple[int, ...]
    timeout_s: float = 15.0
    seed: int = 1


@dataclass
class Customer:
    username: str
    client: httpx2.Client
    tried: int = 0

    def csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken") or ""}


def error_code(payload: dict[str, object]) -> str | None:
    """The error's code: ``{"error": "circuit_open"}`` (the front door) or ``{"error": {"code": ...}}``."""
    error = payload.get("error")
    if isinstance(error, dict):
        error = error.get("code")
    return error if isinstance(error, str) else None


def judge_checkout(customer: str, key: str, response: httpx2.Response | None, error: str = "") -> Checkout:
    """One checkout's entry in the ledger, from its answer (None: no answer came)."""
    if response is None:
        return Checkout(customer, key, None, error=error)
    status = response.status_code
    body: object = None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            body = response.json()
        except ValueError:
            body = None
    payload = body if isinstance(body, dict) else {}
    code = error_code(payload)
    if status >= 500 and code not in NOT_SENT_ERRORS:
        return Checkout(customer, key, None, error=f"http {status} {code or ''}".strip())
    if status != 201:
        return Checkout(customer, key, status, error=code or f"http {status}")
    order_no = payload.get("order_no")
    units: dict[int, int] = {}
    for line in payload.get("lines") or []:
        units[int(line["product_id"])] = units.get(int(line["product_id"]), 0) + int(line["quantity"])
    if not isinstance(order_no, str) or not units:
        return Checkout(customer, key, status, error="a 201 without an order number and its lines")
    return Checkout(customer, key, status, order_no=order_no, units=units)


class CheckoutLoad:
    """``login()`` then ``start()``; ``stop()`` waits for the checkouts in flight."""

    def __init__(self, settings: CheckoutLoadSettings) -> None:
        self.settings = settings
        self.ledger = CheckoutLedger()
        self.customers: list[Customer] = []
        self.cart_failures = 0
        self.not_sent = 0
        """Checkouts skipped because their customer was still waiting for the previous one."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def login(self) -> None:
        for username in self.settings.usernames:
            self.customers.append(Customer(username, self._login(username)))

    def _login(self, username: str) -> httpx2.Client:
        settings = self.settings
        client = httpx2.Client(base_url=settings.front_url, timeout=settings.timeout_s)
        try:
            page = client.get(settings.login)
            found = _CSRF_FIELD.search(page.text)
            if page.status_code != 200 or found is None:
                raise LoginFailed(f"GET {settings.login} answered {page.status_code} without a CSRF token")
            answer = client.post(
                settings.login,
                data={"username": username, "password": settings.password, "csrfmiddlewaretoken": found[1]},
                headers={"Referer": f"{settings.front_url}{settings.login}"},
            )
            if answer.status_code != 302 or "sessionid" not in client.cookies:
                raise LoginFailed(f"logging in as {username} answered {answer.status_code}")
        except BaseException:
            client.close()
            raise
        return client

    @property
    def acknowledged(self) -> int:
        with self._lock:
            return len(self.ledger.acknowledged)

    def measure_capacity(self, seconds: float) -> Capacity:
        """The checkouts the route sustains: every customer checks out back to back for ``seconds``.
        These are checkouts like the load's (in the ledger, one key each, never retried here)."""
        rngs = {c.username: random.Random(f"{self.settings.seed}-probe-{c.username}") for c in self.customers}
        return measure_closed_loop(
            self.customers,
            lambda customer: self._cycle(customer, rngs[customer.username]).acknowledged,
            seconds=seconds,
            what="checkouts",
        )

    def start(self, rate: float) -> None:
        """The customers check out ``rate`` times a second, all together, until ``stop()``."""
        if rate <= 0:
            raise ValueError("the checkout rate must be more than 0")
        for index, customer in enumerate(self.customers):
            rng = random.Random(f"{self.settings.seed}-{index}")
            thread = threading.Thread(
                target=self._run, args=(customer, rng, rate), name=f"checkout-load-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.timeout_s * 3 + 10)
        if self._errors:
            raise RuntimeError(f"a checkout client failed: {self._errors[0]!r}") from self._errors[0]

    def close(self) -> None:
        for customer in self.customers:
            customer.client.close()

    def _run(self, customer: Customer, rng: random.Random, rate: float) -> None:
        try:
            for skipped in paced_starts(self._stop, len(self.customers) / rate, rng):
                if skipped:
                    with self._lock:
                        self.not_sent += skipped
                self._cycle(customer, rng)
        except BaseException as exc:  # reported by stop()
            self._errors.append(exc)

    def _cycle(self, customer: Customer, rng: random.Random) -> Checkout:
        """Empty the cart, fill it with one or two products, check it out under a key of its own."""
        self._empty(customer)
        for product in rng.sample(self.settings.products, rng.randint(1, 2)):
            self._add(customer, product, rng.randint(1, 2))
        entry = self._checkout(customer, f"drill-{customer.username}-{customer.tried}")
        customer.tried += 1
        return entry

    def _empty(self, customer: Customer) -> None:
        try:
            answer = customer.client.delete(self.settings.empty_cart, headers=customer.csrf())
        except httpx2.TransportError:
            answer = None
        if answer is None or answer.status_code >= 400:
            with self._lock:
                self.cart_failures += 1

    def _add(self, customer: Customer, product: int, quantity: int) -> None:
        try:
            answer = customer.client.post(
                self.settings.cart,
                json={"product_id": product, "quantity": quantity},
                headers=customer.csrf(),
            )
        except httpx2.TransportError:
            answer = None
        if answer is None or answer.status_code >= 400:
            with self._lock:
                self.cart_failures += 1

    def _checkout(self, customer: Customer, key: str) -> Checkout:
        headers = {**customer.csrf(), "Idempotency-Key": key}
        try:
            response = customer.client.post(self.settings.checkout, json={}, headers=headers)
        except httpx2.TransportError as exc:
            entry = judge_checkout(customer.username, key, None, type(exc).__name__)
        else:
            entry = judge_checkout(customer.username, key, response)
        with self._lock:
            self.ledger.add(entry)
        return entry

    def settle_unknown(self) -> int:
        """Ask once more, under the same key, for each checkout whose outcome is unknown; how many were
        asked. The customer's cart is emptied first, so that the retry asks what became of that checkout
        (the order it placed, or "empty cart": nothing was placed) instead of checking out another cart.
        The answers join the ledger (an order placed before the crash is then acknowledged)."""
        by_name = {customer.username: customer for customer in self.customers}
        unknown = list(self.ledger.unknown)
        for entry in unknown:
            customer = by_name[entry.customer]
            self._empty(customer)
            self._checkout(customer, entry.key)
        return len(unknown)


class StockWatch:
    """Reads each product's stock every ``interval`` seconds in a thread; keeps the lowest reading."""

    def __init__(self, read: Callable[[], dict[int, int]], interval: float = 0.5) -> None:
        self._read = read
        self._interval = interval
        self.lowest: dict[int, int] = {}
        self.readings = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stock-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                stock = self._read()
            except (httpx2.HTTPError, ValueError, KeyError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            else:
                self.readings += 1
                for product, value in stock.items():
                    self.lowest[product] = min(value, self.lowest.get(product, value))
            self._stop.wait(self._interval)
