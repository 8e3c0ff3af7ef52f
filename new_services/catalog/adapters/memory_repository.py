"""In-memory repository and unit of work: the fakes the unit tests run the use cases against."""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Sequence

from new_services.catalog.domain import Product
from new_services.catalog.service_layer.criteria import ProductCriteria
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["InMemoryProductRepository", "InMemoryUnitOfWork"]


class InMemoryProductRepository:
    """Same semantics as the SQL repository (see ProductCriteria); copies go in and out."""

    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._products: dict[int, Product] = {p.id: _clone(p) for p in products}

    def get(self, product_id: int) -> Product | None:
        product = self._products.get(product_id)
        return None if product is None else _clone(product)

    def get_for_update(self, product_id: int) -> Product | None:
        return self.get(product_id)

    def save(self, product: Product) -> None:
        self._products[product.id] = _clone(product)

    def save_many(self, products: Iterable[Product]) -> int:
        written = 0
        for product in products:
            self.save(product)
            written += 1
        return written

    def category_paths(self) -> set[str]:
        return {str(product.category) for product in self._products.values()}

    def count(self, criteria: ProductCriteria) -> int:
        return sum(1 for product in self._products.values() if _matches(product, criteria))

    def search(self, criteria: ProductCriteria, *, offset: int, limit: int) -> Sequence[Product]:
        key = {
            "id": lambda p: (p.id,),
            "name": lambda p: (p.name, p.id),
            "price": lambda p: (p.price.amount, p.id),
            "sku": lambda p: (p.sku.value, p.id),
        }[criteria.sort_field]
        found = sorted((p for p in self._products.values() if _matches(p, criteria)), key=key)
        if criteria.descending:
            found.reverse()
        return [_clone(p) for p in found[offset : offset + limit]]


def _matches(product: Product, criteria: ProductCriteria) -> bool:
    if criteria.q:
        needle = _ascii_lower(criteria.q)
        if needle not in _ascii_lower(product.name) and needle not in _ascii_lower(product.sku.value):
            return False
    if criteria.category and not product.category.is_within(criteria.category):
        return False
    if criteria.status is not None and product.status is not criteria.status:
        return False
    if criteria.min_price is not None and product.price.amount < criteria.min_price:
        return False
    return criteria.max_price is None or product.price.amount <= criteria.max_price


class InMemoryUnitOfWork(AbstractUnitOfWork):
    def __init__(self, products: Iterable[Product] = ()) -> None:
        self.products = InMemoryProductRepository(products)
        self.committed = False
        self.stock_changes: list[Product] = []
        self.stock_deltas: list[int | None] = []
        self.field_changes: list[tuple[Product, tuple[str, ...]]] = []

    def record_stock_change(self, product: Product, *, delta: int | None = None) -> None:
        self.stock_changes.append(dataclasses.replace(product))
        self.stock_deltas.append(delta)

    def record_field_change(self, product: Product, fields: tuple[str, ...]) -> None:
        self.field_changes.append((dataclasses.replace(product), fields))

    def commit(self) -> None:
        self.committed = True

    def rollback(self) -> None:
        pass


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _ascii_lower(text: str) -> str:
    """Case folding as SQLite's ``lower()`` and ``LIKE`` do it: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


def _clone(product: Product) -> Product:
    """A separate Product with the same values (what a database round trip gives back)."""
    return dataclasses.replace(product)
