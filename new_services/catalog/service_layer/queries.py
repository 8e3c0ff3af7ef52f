"""Read use cases: one product, or a page of products matching criteria."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from new_services.catalog.domain import CategoryPath, Product
from new_services.catalog.domain.category import SEPARATOR
from new_services.catalog.service_layer.criteria import ProductCriteria
from new_services.catalog.service_layer.errors import PageOutOfRange, ProductNotFound
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["Page", "get_product", "list_categories", "list_products"]


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Product]
    count: int
    number: int
    size: int

    @property
    def num_pages(self) -> int:
        """At least 1, like an empty first page of a paginator."""
        return max(1, -(-self.count // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def get_product(uow: AbstractUnitOfWork, product_id: int) -> Product:
    with uow:
        product = uow.products.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product


def list_categories(uow: AbstractUnitOfWork) -> list[str]:
    """Every category path in use and all of its ancestors, sorted ("Home", "Home>Kitchen", ...)."""
    with uow:
        paths = uow.products.category_paths()
    found: set[str] = set()
    for path in paths:
        segments = CategoryPath.parse(path).segments
        found.update(SEPARATOR.join(segments[:depth]) for depth in range(1, len(segments) + 1))
    return sorted(found)


def list_products(uow: AbstractUnitOfWork, criteria: ProductCriteria, *, page: int, page_size: int) -> Page:
    """Page ``page`` (1-based) of the products matching ``criteria``; PageOutOfRange past the last page."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    with uow:
        count = uow.products.count(criteria)
        num_pages = max(1, -(-count // page_size))
        if page > num_pages:
            raise PageOutOfRange(page, num_pages)
        items = uow.products.search(criteria, offset=(page - 1) * page_size, limit=page_size)
    return Page(items=items, count=count, number=page, size=page_size)
