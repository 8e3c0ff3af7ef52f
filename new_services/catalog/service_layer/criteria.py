"""ProductCriteria: what a product listing asks for (filters and order), independent of HTTP and SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from new_services.catalog.domain import Status

__all__ = ["DEFAULT_SORT", "SORT_KEYS", "ProductCriteria"]

SORT_KEYS = ("id", "name", "-name", "price", "-price", "sku", "-sku")
DEFAULT_SORT = "id"


@dataclass(frozen=True, slots=True)
class ProductCriteria:
    """Filters combine with AND.

    ``q`` matches name or SKU, ignoring the case of ASCII letters (as SQLite compares); ``category``
    matches that category and everything below it ("Home>Kitchen" matches "Home>Kitchen>Knives" but
    not "Home>Kitchenware"); ties are broken by id in the direction of the sort (``-name`` lists equal
    names by descending id).
    """

    q: str = ""
    category: str = ""
    status: Status | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: str = DEFAULT_SORT

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise ValueError(f"unknown sort key {self.sort!r}; expected one of {', '.join(SORT_KEYS)}")

    @property
    def sort_field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")
