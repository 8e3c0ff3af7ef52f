"""LegacyClient: the monolith's product API over HTTP (httpx2), translated into ACL records.

* every call has a timeout (connect, read, write, pool);
* idempotent calls (GET) are retried on no-answer and on 502/503/504, with capped exponential backoff;
  POSTs are never retried, since the first attempt may have been applied, unless they carry an
  ``Idempotency-Key`` the monolith honours (a retry is then answered, never applied twice);
* a circuit breaker fails fast while the monolith keeps failing;
* every failure surfaces as an ``acl.errors`` exception, never as an httpx2 one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx2

from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_from_legacy_json
from acl.circuit_breaker import CircuitBreaker
from acl.errors import (
    CircuitOpen,
    LegacyConnectionError,
    LegacyDataError,
    LegacyNotFound,
    LegacyRejected,
    LegacyResponseError,
    LegacyServerError,
    LegacyServiceError,
    LegacyTimeout,
)
from acl.tracing import client_span

__all__ = ["DEFAULT_TIMEOUT", "IDEMPOTENCY_KEY_HEADER", "LegacyClient", "LegacyProductPage", "RetryPolicy"]

DEFAULT_TIMEOUT = httpx2.Timeout(5.0, connect=2.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` in all (1 = no retry); retry n waits ``backoff * 2**(n-1)``, at most ``max_backoff``."""

    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 2.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})

    def delay(self, retry_number: int) -> float:
        return min(self.max_backoff, self.backoff * 2 ** (retry_number - 1))


@dataclass(frozen=True, slots=True)
class LegacyProductPage:
    count: int
    page: int
    num_pages: int
    products: list[ProductRecord]


class LegacyClient:
    """``with LegacyClient("http://127.0.0.1:8100") as legacy: legacy.get_product(17)``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._http = httpx2.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"Accept": "application/json", **(headers or {})},
            auth=auth,
            transport=transport,
            follow_redirects=False,
        )

    # --- products ------------------------------------------------------------------------------------

    def get_product(self, product_id: int, *, request_id: str | None = None) -> ProductRecord:
        response = self._request("GET", f"/api/products/{product_id}", request_id=request_id)
        return product_from_legacy_json(self._json(response))

    def list_products(
        self, *, page: int = 1, page_size: int = 100, request_id: str | None = None, **filters: str
    ) -> LegacyProductPage:
        params = {"page": str(page), "page_size": str(page_size), **filters}
        response = self._request("GET", "/api/products", params=params, request_id=request_id)
        body = self._json(response)
        try:
            return LegacyProductPage(
                count=body["count"],
                page=body["page"],
                num_pages=body["num_pages"],
                products=[product_from_legacy_json(item) for item in body["results"]],
            )
        except (KeyError, TypeError) as exc:
            raise LegacyDataError("products page", body, f"not a product page ({exc!r})") from exc

    def iter_products(self, *, page_size: int = 100, **filters: str) -> Iterator[ProductRecord]:
        page = 1
        while True:
            batch = self.list_products(page=page, page_size=page_size, **filters)
            yield from batch.products
            if page >= batch.num_pages:
                return
            page += 1

    def set_stock(self, product_id: int, quantity: int, *, request_id: str | None = None) -> ProductRecord:
        """Set the stock level (``{"quantity": n}``); staff credentials needed (``auth=``); never retried."""
        return self._post_stock(product_id, {"quantity": quantity}, request_id)

    def adjust_stock(
        self,
        product_id: int,
        delta: int,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ProductRecord:
        """Move the stock by ``delta`` units (``{"delta": d}``). Not idempotent, so never retried, unless
        ``idempotency_key`` is given: the monolith then applies the change once per key."""
        return self._post_stock(product_id, {"delta": delta}, request_id, idempotency_key)

    def _post_stock(
        self,
        product_id: int,
        body: dict[str, int],
        request_id: str | None,
        idempotency_key: str | None = None,
    ) -> ProductRecord:
        path = f"/api/products/{product_id}/stock"
        headers = {IDEMPOTENCY_KEY_HEADER: idempotency_key} if idempotency_key else None
        response = self._request("POST", path, json=body, request_id=request_id, headers=headers)
        return product_from_legacy_json(self._json(response))

    # --- plumbing ------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx2.Response:
        keyed = headers is not None and IDEMPOTENCY_KEY_HEADER in headers
        attempts = self.retry.attempts if method in IDEMPOTENT_METHODS or keyed else 1
        if request_id:
            headers = {**(headers or {}), "X-Request-ID": request_id}
        for attempt in range(1, attempts + 1):
            try:
                self.breaker.before_call()
            except CircuitOpen as exc:
                raise CircuitOpen(str(exc), retry_after=exc.retry_after, method=method, url=path) from None
            sent = dict(headers or {})  # each attempt's own copy: its span adds its traceparent
            try:
                with client_span(
                    f"legacy {method}",
                    {"http.request.method": method, "url.path": path, "legacy.attempt": attempt},
                    sent,
                ) as span:
                    response = self._http.request(method, path, headers=sent or None, **kwargs)
                    span.set_attribute("http.response.status_code", response.status_code)
            except httpx2.TimeoutException as exc:
                self.breaker.record_failure()
                error: LegacyServiceError = LegacyTimeout(
                    f"{method} {path}: timed out ({type(exc).__name__})", method=method, url=path
                )
            except httpx2.TransportError as exc:
                self.breaker.record_failure()
                error = LegacyConnectionError(f"{method} {path}: {exc!r}", method=method, url=path)
            else:
                if response.status_code >= 500:
                    self.breaker.record_failure()
                    error = _response_error(method, path, response)
                    if response.status_code not in self.retry.retry_statuses:
                        raise error
                else:
                    self.breaker.record_success()
                    if response.status_code >= 400:
                        raise _response_error(method, path, response)
                    return response
            if attempt == attempts:
                raise error
            self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(response: httpx2.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise LegacyDataError("body", response.text[:200], "the monolith did not answer JSON") from exc

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _response_error(method: str, path: str, response: httpx2.Response) -> LegacyResponseError:
    status = response.status_code
    kind: type[LegacyResponseError]
    if status == 404:
        kind = LegacyNotFound
    elif status >= 500:
        kind = LegacyServerError
    else:
        kind = LegacyRejected
    return kind(
        f"{method} {path}: the monolith answered {status}",
        status_code=status,
        body=response.text[:2000],
        method=method,
        url=path,
    )
