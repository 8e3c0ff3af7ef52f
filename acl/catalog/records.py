"""ProductRecord: the ACL's published language for a product — typed, validated, free of legacy names.

Services build their own domain objects from it; nothing here knows a service's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = ["CURRENCY", "ProductRecord", "ProductStatus"]

CURRENCY = "EUR"


class ProductStatus(StrEnum):
    ACTIVE = "active"
    DISCONTINUED = "discontinued"


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """One product; ``price`` has exactly two decimal places, times are aware UTC."""

    id: int
    sku: str
    name: str
    description: str
    price: Decimal
    stock: int
    status: ProductStatus
    category: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    currency: str = CURRENCY

    @property
    def category_path(self) -> str:
        return ">".join(self.category)
