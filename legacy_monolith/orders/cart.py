"""The shopping cart, kept in the session as {"<product id>": quantity}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.sessions.backends.base import SessionBase

from legacy_monolith.catalog.models import Product

__all__ = ["MAX_LINE_QUANTITY", "Cart", "CartLine"]

MAX_LINE_QUANTITY = 99


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Decimal:
        return self.product.price

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


class Cart:
    SESSION_KEY = "cart"

    def __init__(self, session: SessionBase) -> None:
        self.session = session

    def quantities(self) -> dict[int, int]:
        """{product id: quantity}, ignoring anything malformed an old session may hold."""
        stored = self.session.get(self.SESSION_KEY) or {}
        result: dict[int, int] = {}
        for key, value in stored.items():
            if str(key).isdigit() and isinstance(value, int) and value > 0:
                result[int(key)] = value
        return result

    def _store(self, quantities: Mapping[int, int]) -> None:
        self.session[self.SESSION_KEY] = {str(pk): qty for pk, qty in sorted(quantities.items())}
        self.session.modified = True

    def add(self, product_id: int, quantity: int) -> None:
        quantities = self.quantities()
        quantities[product_id] = min(quantities.get(product_id, 0) + quantity, MAX_LINE_QUANTITY)
        self._store(quantities)

    def set(self, product_id: int, quantity: int) -> None:
        quantities = self.quantities()
        if quantity > 0:
            quantities[product_id] = min(quantity, MAX_LINE_QUANTITY)
        else:
            quantities.pop(product_id, None)
        self._store(quantities)

    def remove(self, product_id: int) -> bool:
        quantities = self.quantities()
        found = quantities.pop(product_id, None) is not None
        self._store(quantities)
        return found

    def replace(self, quantities: Mapping[int, int]) -> None:
        self._store(dict(quantities))

    def clear(self) -> None:
        self._store({})

    def count(self) -> int:
        return sum(self.quantities().values())

    def __contains__(self, product_id: object) -> bool:
        return product_id in self.quantities()

    def lines(self) -> list[CartLine]:
        """One line per product still in the catalog, in product order."""
        quantities = self.quantities()
        products = Product.objects.in_bulk(list(quantities))
        return [CartLine(products[pk], qty) for pk, qty in sorted(quantities.items()) if pk in products]

    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines()), Decimal("0.00"))
