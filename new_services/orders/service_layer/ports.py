"""The stock port: what checkout needs from whoever owns stock (the monolith today, catalog later).

Every adapter must make ``reserve``/``release`` idempotent per ``step_id`` where it can; the saga
itself calls each step at most once (it logs a step before calling it and marks it after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from new_services.orders.domain import Money

__all__ = ["StockPort", "StockedProduct"]


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
