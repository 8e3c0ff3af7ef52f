"""The body of ``PATCH /api/products/<id>``: the fields to change, checked as the monolith checks them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from new_services.catalog.domain import Money
from new_services.catalog.entrypoints.stock_body import InvalidBody

__all__ = ["ProductChange", "parse_product_change"]

_PRICE = re.compile(r"\d{1,15}\.\d{2}")
_FIELDS = ("name", "description", "price")


@dataclass(frozen=True, slots=True)
class ProductChange:
    name: str | None = None
    description: str | None = None
    price: Money | None = None


def parse_product_change(raw: bytes) -> ProductChange:
    """Some of ``{"name": text, "description": text, "price": "19.90"}``; nothing else."""
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise InvalidBody("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidBody("The request body must be a JSON object.")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InvalidBody(f"Only {', '.join(_FIELDS)} can be changed here, not {unknown[0]}.", unknown[0])
    if not data:
        raise InvalidBody(f"Send at least one of {', '.join(_FIELDS)}.")
    for name in ("name", "description"):
        if name in data and not isinstance(data[name], str):
            raise InvalidBody(f"{name} must be text.", name)
    if "name" in data and (not data["name"].strip() or len(data["name"]) > 200):
        raise InvalidBody("name must have 1 to 200 characters and not be blank.", "name")
    price = data.get("price")
    if "price" in data and not (isinstance(price, str) and _PRICE.fullmatch(price)):
        raise InvalidBody("price must be a price with two decimals like '19.90'.", "price")
    return ProductChange(
        name=data.get("name"),
        description=data.get("description"),
        price=Money.of(price) if isinstance(price, str) else None,
    )
