"""The body of ``POST /api/products/<id>/stock``, checked as the monolith checks it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

__all__ = ["InvalidBody", "StockChange", "parse_stock_change"]


class InvalidBody(Exception):
    """400 ``invalid_body``; ``field`` when one input is at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class StockChange:
    field: Literal["quantity", "delta"]
    value: int


def parse_stock_change(raw: bytes) -> StockChange:
    """Exactly one of ``{"quantity": n}`` or ``{"delta": d}``, an integer (never a boolean)."""
    try:
        data = json.loads(raw or b"null")
    except ValueError:  # UnicodeDecodeError included
        raise InvalidBody("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidBody("The request body must be a JSON object.")
    if ("quantity" in data) == ("delta" in data):
        raise InvalidBody('Send exactly one of "quantity" (absolute) or "delta" (relative).')
    field: Literal["quantity", "delta"] = "quantity" if "quantity" in data else "delta"
    value = data[field]
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidBody(f"{field} must be an integer.", field)
    return StockChange(field, value)
