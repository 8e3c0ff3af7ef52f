"""Stock: how many units are on hand; never negative."""

from __future__ import annotations

from dataclasses import dataclass

from new_services.catalog.domain.errors import InsufficientStock, InvalidValue

__all__ = ["Stock"]


@dataclass(frozen=True, slots=True, order=True)
class Stock:
    """A non-negative number of units; operations return a new Stock."""

    quantity: int

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise InvalidValue(f"stock is a whole number of units, got {self.quantity!r}")
        if self.quantity < 0:
            raise InvalidValue(f"stock must not be negative, got {self.quantity}")

    def reserve(self, units: int) -> Stock:
        """Take ``units`` out of stock; raises InsufficientStock when there are not enough."""
        _require_positive(units)
        if units > self.quantity:
            raise InsufficientStock(requested=units, available=self.quantity)
        return Stock(self.quantity - units)

    def release(self, units: int) -> Stock:
        """Put ``units`` back into stock."""
        _require_positive(units)
        return Stock(self.quantity + units)

    def __int__(self) -> int:
        return self.quantity


def _require_positive(units: int) -> None:
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise InvalidValue(f"a stock movement is a positive whole number of units, got {units!r}")
