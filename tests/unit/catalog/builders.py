"""Test data for the catalog: domain products with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from new_services.catalog.domain import CategoryPath, Money, Product, Sku, Status, Stock

__all__ = ["make_product"]


def make_product(product_id: int, **overrides: Any) -> Product:
    values: dict[str, Any] = {
        "id": product_id,
        "sku": Sku(f"LS-{product_id:06d}"),
        "name": f"Product {product_id:03d}",
        "description": f"About product {product_id}",
        "price": Money.of(f"{product_id}.90"),
        "stock": Stock(product_id % 9),
        "status": Status.ACTIVE,
        "category": CategoryPath.parse("Home>Kitchen>Knives"),
        "created_at": datetime(2016, 3, 1, 9, 0, tzinfo=UTC) + timedelta(days=product_id),
        "updated_at": datetime(2017, 7, 1, 8, 0, tzinfo=UTC) + timedelta(days=product_id),
    }
    for key, value in overrides.items():
        if key == "price" and isinstance(value, str):
            value = Money.of(value)
        elif key == "category" and isinstance(value, str):
            value = CategoryPath.parse(value)
        elif key == "stock" and isinstance(value, int):
            value = Stock(value)
        values[key] = value
    return Product(**values)
