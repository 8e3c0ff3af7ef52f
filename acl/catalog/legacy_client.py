"""LegacyClient: LegacyShop's product API over HTTP, translated into ACL records.

Timeouts, retries, the circuit breaker and the ``acl.errors`` exceptions are ``acl.legacy_http``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_from_legacy_json
from acl.errors import LegacyDataError
from acl.legacy_http import DEFAULT_TIMEOUT, IDEMPOTENCY_KEY_HEADER, LegacyHttpClient, RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "IDEMPOTENCY_KEY_HEADER", "LegacyClient", "LegacyProductPage", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class LegacyProductPage:
    count: int
    page: int
    num_pages: int
    products: list[ProductRecord]


class LegacyClient(LegacyHttpClient):
    """``with LegacyClient("http://127.0.0.1:8100") as legacy: legacy.get_product(17)``; timeouts,
    retries, circuit breaker and errors are ``acl.legacy_http``'s."""

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
