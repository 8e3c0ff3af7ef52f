"""The ports of checkout: stock (whoever owns it: the monolith today, catalog later) and the customer's
session cart (kept by the monolith, read and emptied through the ACL's session-state bridge).

Every adapter must make ``reserve``/``release`` idempotent per ``step_id`` where it can; the saga
itself calls each step at most once (it logs a step before calling it and marks it after).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from new_services.orders.domain import CheckoutCart, Money

__all__ = ["SessionCart", "SessionCartPort", "StockPort", "StockedProduct"]


@dataclass(frozen=True, slots=True)
class StockedProduct:
    product_id: int
    sku: str
    name: str
    unit_price: Money
    stock: int
    active: bool


class StockPort(Protocol):
    def product(self, product_id: int) -> StockedProduct:
        """Read only. Raises ``ProductUnavailable`` or ``StockUnavailable``."""
        ...

    def reserve(self, step_id: str, product_id: int, quantity: int) -> StockedProduct:
        """Take ``quantity`` out of stock; the product as it is afterwards.

        Raises ``InsufficientStock`` (also for a discontinued product), ``ProductUnavailable``,
        ``StockUnavailable`` (not applied) or ``StockOutcomeUnknown`` (maybe applied).
        """
        ...

    def release(self, step_id: str, product_id: int, quantity: int) -> None:
        """Give back what ``reserve(step_id, ...)`` took. Raises ``StockUnavailable``."""
        ...

    def settle(self, step_id: str, product_id: int, quantity: int) -> bool:
        """Settle a reservation whose outcome is unknown (recovery): send ``reserve(step_id, ...)`` again
        under the same idempotency key, without reading the stock first. A reservation that was applied is
        answered from the stock side's record (not taken twice), one that was not is applied now; either
        way it stands and True is returned (the caller releases it). False: refused, nothing was taken.
        Raises ``StockUnavailable`` when the outcome is still unknown (left in doubt, tried again later).
        """
        ...


@dataclass(frozen=True, slots=True)
class SessionCart:
    """The cart of a signed-in customer's session: ``cart`` is None when it is empty; ``version`` is
    what emptying it must still find there (it was not changed meanwhile)."""

    user_id: int | None
    cart: CheckoutCart | None
    version: object


class SessionCartPort(Protocol):
    def read(self, session_key: str, *, before_request: str | None = None) -> SessionCart | None:
        """The session's cart, None when the session does not exist; with ``before_request`` (a request
        id), as it was before that request changed it. Raises ``SessionUnavailable``."""
        ...

    def remove_checked_out(self, session_key: str, version: object, ordered: Mapping[int, int]) -> bool:
        """Take the ``ordered`` quantities ({product id: quantity}) out of the cart as it is now: emptied
        when it is still ``version``; when it changed meanwhile, read again and the ordered quantities
        subtracted from what is there (lines added meanwhile stay), compare-and-set, a bounded number of
        tries. False when it kept changing (left as it is). Raises ``SessionUnavailable``."""
        ...
