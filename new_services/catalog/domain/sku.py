"""Sku: the stock-keeping unit code that identifies a product to people and other systems."""

from __future__ import annotations

import re
from dataclasses import dataclass

from new_services.catalog.domain.errors import InvalidValue

__all__ = ["Sku"]

_SKU = re.compile(r"[A-Z0-9](?:[A-Z0-9-]{0,30}[A-Z0-9])?")


@dataclass(frozen=True, slots=True)
class Sku:
    """Upper-case letters, digits and inner dashes, 1 to 32 characters, e.g. ``LS-000123``."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or _SKU.fullmatch(self.value) is None:
            raise InvalidValue(f"not a valid SKU: {self.value!r}")

    def __str__(self) -> str:
        return self.value
