"""What a customer checks out: product ids and quantities, validated like the monolith's cart."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_LINE_QUANTITY", "CartLine", "CheckoutCart", "EmptyCart", "InvalidCart"]

MAX_LINE_QUANTITY = 99
MAX_PRODUCT_ID = 2**31 - 1


class EmptyCart(ValueError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InvalidCart(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckoutCart:
    """Lines in product-id order, one per product; quantities of repeated products add up (capped)."""

    lines: tuple[CartLine, ...]

    @classmethod
    def of(cls, items: Iterable[tuple[int, int]]) -> CheckoutCart:
        quantities: dict[int, int] = {}
        for product_id, quantity in items:
            if not 1 <= product_id <= MAX_PRODUCT_ID:
                raise InvalidCart(f"product_id must be an integer between 1 and {MAX_PRODUCT_ID}.")
            if not 1 <= quantity <= MAX_LINE_QUANTITY:
                raise InvalidCart(f"quantity must be an integer between 1 and {MAX_LINE_QUANTITY}.")
            quantities[product_id] = min(quantities.get(product_id, 0) + quantity, MAX_LINE_QUANTITY)
        if not quantities:
            raise EmptyCart()
        return cls(tuple(CartLine(pid, qty) for pid, qty in sorted(quantities.items())))

    def fingerprint(self) -> str:
        """Equal for equal carts: what an Idempotency-Key is bound to."""
        canonical = json.dumps([[line.product_id, line.quantity] for line in self.lines])
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()
