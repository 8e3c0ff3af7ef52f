"""The monolith's session cart, translated: ``{"<product id>": quantity}`` under the session key ``cart``.

The monolith reads its cart leniently (an old session may hold anything): a key that is not a product
id, or a quantity that is not a positive integer, is skipped rather than refused. The translation does
the same, so that a service checks out exactly the lines the monolith would have.

After a checkout the lines ordered leave the cart as it is *then*: ``cart_after_checkout`` subtracts
them, so that a line the customer added while the checkout ran stays (and nothing ordered is left in
the cart to be ordered twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CART_SESSION_KEY", "EMPTY_CART", "cart_after_checkout", "cart_quantities_from_session"]

CART_SESSION_KEY = "cart"
EMPTY_CART: dict[str, int] = {}
"""What the monolith stores once a cart is checked out (or emptied)."""


def cart_quantities_from_session(data: Mapping[str, Any]) -> dict[int, int]:
    """``{product id: quantity}`` of the session's cart, in product-id order; empty when it has none."""
    stored = data.get(CART_SESSION_KEY) or {}
    if not isinstance(stored, Mapping):
        return {}
    quantities: dict[int, int] = {}
    for key, value in stored.items():
        if str(key).isdigit() and isinstance(value, int) and value > 0:
            quantities[int(key)] = int(value)
    return dict(sorted(quantities.items()))


def cart_after_checkout(data: Mapping[str, Any], ordered: Mapping[int, int]) -> dict[str, int]:
    """The session's cart (``data``: the session's keys) without the ``ordered`` quantities
    ({product id: quantity}), in the monolith's form (``{"<product id>": quantity}``, product order): a
    line's quantity goes down by what was ordered, a line left with none goes. Nothing added meanwhile
    is lost; what the monolith would have skipped (malformed entries) goes, as its own writes drop it."""
    left = {
        product_id: quantity - ordered.get(product_id, 0)
        for product_id, quantity in cart_quantities_from_session(data).items()
    }
    return {str(product_id): quantity for product_id, quantity in left.items() if quantity > 0}
