"""The public JSON representation of a product (the contract clients already rely on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from new_services.catalog.domain import Product

__all__ = ["DISPLAY_TIMEZONE", "format_time", "product_json"]

DISPLAY_TIMEZONE = ZoneInfo("Europe/Berlin")


def format_time(moment: datetime) -> str:
    """ISO 8601 in the shop's time zone with its offset, e.g. ``2016-03-01T10:00:00+01:00``."""
    return moment.astimezone(DISPLAY_TIMEZONE).isoformat(timespec="seconds")


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": str(product.sku),
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "currency": product.price.currency,
        "stock": product.stock.quantity,
        "status": product.status.value,
        "category": str(product.category),
        "created_at": format_time(product.created_at),
        "updated_at": format_time(product.updated_at),
    }
