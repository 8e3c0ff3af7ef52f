"""The repository port: how the use cases see stored products."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from new_services.catalog.domain import Product
from new_services.catalog.service_layer.criteria import ProductCriteria

__all__ = ["ProductRepository"]


class ProductRepository(Protocol):
    def get(self, product_id: int) -> Product | None: ...

    def get_for_update(self, product_id: int) -> Product | None:
        """``get``, holding the product against concurrent writers until the unit of work ends."""

    def save(self, product: Product) -> None:
        """Insert or replace ``product`` (by id)."""

    def save_many(self, products: Iterable[Product]) -> int:
        """Insert or replace each product; return how many were written."""

    def count(self, criteria: ProductCriteria) -> int: ...

    def category_paths(self) -> set[str]:
        """The distinct category paths products are filed under."""

    def search(self, criteria: ProductCriteria, *, offset: int, limit: int) -> Sequence[Product]: ...
