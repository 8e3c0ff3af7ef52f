"""The stock port on the monolith: its staff stock API (``POST /api/products/<id>/stock``, delta).

The service calls it with its own scoped service token (strangler_django's ``ServiceTokenMiddleware``:
``Authorization: Bearer``, read from the monolith's token file when first needed and again after a
refusal, so a rotated token is picked up without a restart), or, configured so, as a staff user.

``reserve`` is ``delta: -n``, ``release`` is ``delta: +n``, each with an ``Idempotency-Key`` made of
the saga step's id (``<step>:reserve``, ``<step>:release``), which the monolith honours
(strangler_django's ``idempotent``): a call that got no answer is sent again with the same key and is
answered, never applied twice. When retries run out, the reservation may or may not have been
applied: ``StockOutcomeUnknown``, and the saga leaves it in doubt rather than releasing stock that was
perhaps never taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from acl.catalog.legacy_client import IDEMPOTENCY_KEY_HEADER, LegacyClient, RetryPolicy
from acl.catalog.records import ProductRecord, ProductStatus
from acl.catalog.translators import product_from_legacy_json
from acl.circuit_breaker import CircuitBreaker
from acl.errors import (
    ACLError,
    CircuitOpen,
    LegacyNotFound,
    LegacyRejected,
    LegacyServiceError,
    LegacyUnavailable,
)
from new_services.orders.domain import Money
from new_services.orders.service_layer.checkout import insufficient_stock_message
from new_services.orders.service_layer.errors import (
    InsufficientStock,
    ProductUnavailable,
    StockOutcomeUnknown,
    StockUnavailable,
)
from new_services.orders.service_layer.ports import StockedProduct

__all__ = ["LegacyStock", "LegacyStockClient"]


class LegacyStockClient(LegacyClient):
    """``LegacyClient`` plus the relative stock change the saga needs, as a logged-in staff user.

    It logs in once through the monolith's login form and then sends the session cookie and the
    CSRF token, as the monolith's own staff pages do: HTTP basic auth would make the monolith verify
    the password (PBKDF2, about a second on a busy machine) on every reservation.
    """

    LOGIN_PATH = "/accounts/login/"

    def __init__(
        self,
        base_url: str,
        *,
        username: str = "",
        password: str = "",
        token: Callable[[], str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        if token is None and not (username and password):
            raise ValueError("the stock client needs a service token or a username and password")
        self._username = username
        self._password = password
        self._token = token
        self._lock = threading.Lock()
        self._logged_in = False

    def adjust_stock(
        self,
        product_id: int,
        delta: int,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ProductRecord:
        """POST ``{"delta": delta}``; call ``login()`` first (a 401/403 means: log in again)."""
        headers = {IDEMPOTENCY_KEY_HEADER: idempotency_key} if idempotency_key else None
        response = self._request(
            "POST",
            f"/api/products/{product_id}/stock",
            json={"delta": delta},
            request_id=request_id,
            headers=headers,
        )
        return product_from_legacy_json(self._json(response))

    def login(self, *, force: bool = False) -> None:
        """Take the service token (read again when ``force``), or log in through the form, unless done
        already."""
        with self._lock:
            if self._logged_in and not force:
                return
            self._logged_in = False
            if self._token is not None:
                token = self._token()
                if not token:
                    raise LegacyRejected(
                        "the monolith's service token for this service is unknown (start the monolith "
                        "once: it writes its token files), so its stock API cannot be called",
                        status_code=401,
                        method="POST",
                        url="/api/products/<id>/stock",
                    )
                self._http.headers["Authorization"] = f"Bearer {token}"
                self._logged_in = True
                return
            self._http.cookies.clear()
            self._http.headers.pop("X-CSRFToken", None)
            self._request("GET", self.LOGIN_PATH)
            form = {
                "username": self._username,
                "password": self._password,
                "csrfmiddlewaretoken": self._http.cookies.get("csrftoken") or "",
            }
            response = self._request("POST", self.LOGIN_PATH, data=form)
            token = self._http.cookies.get("csrftoken")
            if response.status_code != 302 or "sessionid" not in self._http.cookies or not token:
                raise LegacyRejected(
                    f"the monolith refused the staff login of {self._username!r}",
                    status_code=response.status_code,
                    method="POST",
                    url=self.LOGIN_PATH,
                )
            self._http.headers["X-CSRFToken"] = token
            self._logged_in = True


def _stocked(record: ProductRecord) -> StockedProduct:
    return StockedProduct(
        product_id=record.id,
        sku=record.sku,
        name=record.name,
        unit_price=Money(record.price, record.currency),
        stock=record.stock,
        active=record.status is ProductStatus.ACTIVE,
    )


class LegacyStock:
    """``StockPort`` over the monolith's stock API, called as a staff user."""

    def __init__(self, client: LegacyStockClient) -> None:
        self._client = client

    @classmethod
    def connect(
        cls,
        base_url: str,
        *,
        username: str = "",
        password: str = "",
        token: Callable[[], str | None] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> LegacyStock:
        client = LegacyStockClient(
            base_url,
            username=username,
            password=password,
            token=token,
            retry=RetryPolicy(attempts=2),
            breaker=breaker or CircuitBreaker(name="orders-legacy-stock"),
        )
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def _login(self, *, force: bool = False) -> None:
        """Nothing is reserved yet: any failure here is plainly ``StockUnavailable``."""
        try:
            self._client.login(force=force)
        except ACLError as exc:
            raise StockUnavailable(f"cannot log in to the monolith's stock API: {exc}") from exc

    def _adjust(self, product_id: int, delta: int, step_id: str) -> ProductRecord:
        """One stock change under the step's idempotency key; a 401/403 (session expired or revoked) was
        refused unapplied, so after a new login the call is repeated once."""
        key = f"{step_id}:{'reserve' if delta < 0 else 'release'}"
        self._login()
        try:
            return self._client.adjust_stock(product_id, delta, request_id=step_id, idempotency_key=key)
        except LegacyRejected as exc:
            if exc.status_code not in (401, 403):
                raise
        self._login(force=True)
        return self._client.adjust_stock(product_id, delta, request_id=step_id, idempotency_key=key)

    def product(self, product_id: int) -> StockedProduct:
        try:
            return _stocked(self._client.get_product(product_id))
        except LegacyNotFound:
            raise ProductUnavailable(product_id) from None
        except ACLError as exc:
            raise StockUnavailable(f"the monolith's product API failed: {exc}") from exc

    def reserve(self, step_id: str, product_id: int, quantity: int) -> StockedProduct:
        current = self.product(product_id)
        if not current.active or current.stock < quantity:
            raise InsufficientStock(
                product_id, quantity, current.stock, insufficient_stock_message(current, quantity)
            )
        try:
            return _stocked(self._adjust(product_id, -quantity, step_id))
        except LegacyNotFound:
            raise ProductUnavailable(product_id) from None
        except LegacyRejected as exc:
            if exc.status_code != 400:
                raise StockUnavailable(f"the monolith refused the stock change: {exc}") from exc
            # Taken by someone else between our read and our write: the conditional UPDATE refused it.
            now = self.product(product_id)
            raise InsufficientStock(
                product_id, quantity, now.stock, insufficient_stock_message(now, quantity)
            ) from None
        except CircuitOpen as exc:
            raise StockUnavailable(str(exc)) from exc
        except (LegacyUnavailable, LegacyServiceError) as exc:
            raise StockOutcomeUnknown(f"reserving {quantity} of product {product_id}: {exc}") from exc
        except ACLError as exc:  # the change was applied but the answer did not translate
            raise StockOutcomeUnknown(f"reserving {quantity} of product {product_id}: {exc}") from exc

    def settle(self, step_id: str, product_id: int, quantity: int) -> bool:
        """The reservation's keyed call again, no stock read first (a reservation that was applied may
        have left less than ``quantity``): the monolith replays a recorded answer, applies a missing one,
        or refuses (400: not enough stock, 404: no such product) without taking anything."""
        try:
            self._adjust(product_id, -quantity, step_id)
        except LegacyNotFound:
            return False
        except LegacyRejected as exc:
            if exc.status_code == 400:
                return False
            raise StockUnavailable(f"settling the reservation {step_id}: {exc}") from exc
        except ACLError as exc:
            raise StockUnavailable(f"settling the reservation {step_id}: {exc}") from exc
        return True

    def release(self, step_id: str, product_id: int, quantity: int) -> None:
        try:
            self._adjust(product_id, quantity, step_id)
        except ACLError as exc:
            raise StockUnavailable(f"releasing {quantity} of product {product_id}: {exc}") from exc
