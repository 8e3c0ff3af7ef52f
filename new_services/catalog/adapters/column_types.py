"""Column types that turn the catalog's value objects into plain columns and back.

Each type also accepts the plain value when binding (``"Home>Kitchen"``, ``1990``), so that queries can
filter and compare on the columns without building value objects for every bound.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, String, TypeDecorator

from new_services.catalog.domain import CategoryPath, Sku, Status, Stock

__all__ = ["CategoryPathType", "CentsType", "SkuType", "StatusType", "StockType", "UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class CentsType(TypeDecorator[Decimal]):
    """A Decimal amount with two places, stored as integer cents (exact on every backend)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None or isinstance(value, int):
            return value
        cents = value * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"{value} has more than two decimal places")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


class SkuType(TypeDecorator[Sku]):
    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Sku | str | None, dialect: Dialect) -> str | None:
        return value.value if isinstance(value, Sku) else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Sku | None:
        return None if value is None else Sku(value)


class StockType(TypeDecorator[Stock]):
    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Stock | int | None, dialect: Dialect) -> int | None:
        return value.quantity if isinstance(value, Stock) else value

    def process_result_value(self, value: int | None, dialect: Dialect) -> Stock | None:
        return None if value is None else Stock(value)


class StatusType(TypeDecorator[Status]):
    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Status | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Status(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Status | None:
        return None if value is None else Status(value)


class CategoryPathType(TypeDecorator[CategoryPath]):
    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: CategoryPath | str | None, dialect: Dialect) -> str | None:
        return str(value) if isinstance(value, CategoryPath) else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> CategoryPath | None:
        return None if value is None else CategoryPath.parse(value)
