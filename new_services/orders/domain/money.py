"""Money as the shop counts it: a Decimal with two places in one currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["CURRENCY", "Money"]

CURRENCY = "EUR"
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"money needs a finite Decimal, got {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"money cannot be negative, got {self.amount}")
        object.__setattr__(self, "amount", self.amount.quantize(_CENT, rounding=ROUND_HALF_UP))

    @classmethod
    def parse(cls, text: str, currency: str = CURRENCY) -> Money:
        """``"19.90"`` -> Money; ValueError on anything that is not a plain non-negative decimal."""
        try:
            amount = Decimal(text)
        except (InvalidOperation, TypeError) as exc:
            raise ValueError(f"not an amount of money: {text!r}") from exc
        return cls(amount, currency)

    @classmethod
    def zero(cls, currency: str = CURRENCY) -> Money:
        return cls(Decimal(0), currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:.2f}"
