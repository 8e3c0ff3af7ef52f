"""Money: a Decimal amount with a currency, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from new_services.catalog.domain.errors import InvalidValue

__all__ = ["DEFAULT_CURRENCY", "Money"]

DEFAULT_CURRENCY = "EUR"
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Money:
    """A non-negative amount in a currency with two minor digits (EUR); ``str()`` is ``"19.90"``."""

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.amount, float) or not isinstance(self.amount, Decimal):
            raise InvalidValue(f"money amounts are Decimals, not {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise InvalidValue(f"money amount must be finite, got {self.amount}")
        if self.amount < 0:
            raise InvalidValue(f"money amount must not be negative, got {self.amount}")
        try:
            quantized = self.amount.quantize(_CENT)
        except InvalidOperation as exc:
            raise InvalidValue(f"money amount {self.amount} is too large") from exc
        if quantized != self.amount:
            raise InvalidValue(f"money amount {self.amount} has more than two decimal places")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidValue(f"currency must be a three-letter ISO code, got {self.currency!r}")
        object.__setattr__(self, "amount", quantized)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str = DEFAULT_CURRENCY) -> Money:
        """Money from a decimal string or an int, e.g. ``Money.of("19.90")``."""
        if isinstance(amount, float):
            raise InvalidValue("money amounts are Decimals, not float")
        try:
            return cls(Decimal(amount), currency)
        except InvalidOperation as exc:
            raise InvalidValue(f"not a decimal amount: {amount!r}") from exc

    @property
    def minor_units(self) -> int:
        """The amount in cents."""
        return int(self.amount * 100)

    @classmethod
    def from_minor_units(cls, cents: int, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls((Decimal(cents) / 100).quantize(_CENT), currency)

    def __str__(self) -> str:
        return f"{self.amount:.2f}"
