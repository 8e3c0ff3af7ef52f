"""LegacyHttpClient: the monolith over HTTP (httpx2), behind the ACL's error types.

* every call has a timeout (connect, read, write, pool);
* idempotent calls (GET) are retried on no-answer and on 502/503/504, with capped exponential backoff;
  POSTs are never retried, since the first attempt may have been applied, unless they carry an
  ``Idempotency-Key`` the monolith honours (a retry is then answered, never applied twice);
* a circuit breaker fails fast while the monolith keeps failing;
* every failure surfaces as an ``acl.errors`` exception, never as an httpx2 one.

A monolith's own API client builds on it (the demo's product API: ``acl.catalog.legacy_client``), and so
do the internal endpoints' clients (``acl.sync.workers.internal_client``, ``acl.session_state``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx2

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

__all__ = ["DEFAULT_TIMEOUT", "IDEMPOTENCY_KEY_HEADER", "LegacyHttpClient", "RetryPolicy"]

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


class LegacyHttpClient:
    """The monolith's HTTP plumbing (``_request``, ``_json``); subclasses add the monolith's calls."""

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
