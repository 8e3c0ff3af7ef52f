"""Product: the catalog's entity, identified by its id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from new_services.catalog.domain.category import CategoryPath
from new_services.catalog.domain.errors import InvalidValue
from new_services.catalog.domain.money import Money
from new_services.catalog.domain.sku import Sku
from new_services.catalog.domain.status import Status
from new_services.catalog.domain.stock import Stock

__all__ = ["Product"]

MAX_NAME_LENGTH = 200


@dataclass(eq=False)
class Product:
    """A product for sale; equality is identity (same id). Times are timezone-aware."""

    id: int
    sku: Sku
    name: str
    description: str
    price: Money
    stock: Stock
    status: Status
    category: CategoryPath
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id <= 0:
            raise InvalidValue(f"a product id is a positive integer, got {self.id!r}")
        if not self.name or len(self.name) > MAX_NAME_LENGTH:
            raise InvalidValue(f"a product name has 1 to {MAX_NAME_LENGTH} characters, got {self.name!r}")
        for label, moment in (("created_at", self.created_at), ("updated_at", self.updated_at)):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidValue(f"{label} must be timezone-aware, got {moment!r}")
        if not isinstance(self.status, Status):
            raise InvalidValue(f"status must be a Status, got {self.status!r}")

    def set_stock(self, quantity: int, *, now: datetime) -> None:
        """Replace the stock level (an inventory count)."""
        self.stock = Stock(quantity)
        self._touch(now)

    def reserve(self, units: int, *, now: datetime) -> None:
        self.stock = self.stock.reserve(units)
        self._touch(now)

    def release(self, units: int, *, now: datetime) -> None:
        self.stock = self.stock.release(units)
        self._touch(now)

    def change_details(
        self,
        *,
        now: datetime,
        name: str | None = None,
        description: str | None = None,
        price: Money | None = None,
    ) -> tuple[str, ...]:
        """Rename, describe or reprice (None keeps a value); returns the names of the fields that changed
        (``updated_at`` moves only when one did)."""
        if name is not None and (not name.strip() or len(name) > MAX_NAME_LENGTH):
            raise InvalidValue(f"a product name has 1 to {MAX_NAME_LENGTH} characters, got {name!r}")
        wanted = {"name": name, "description": description, "price": price}
        changed = tuple(
            key for key, value in wanted.items() if value is not None and value != getattr(self, key)
        )
        for key in changed:
            setattr(self, key, wanted[key])
        if changed:
            self._touch(now)
        return changed

    def _touch(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise InvalidValue("now must be timezone-aware")
        self.updated_at = now.astimezone(UTC)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Product) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)
