"""The catalog's own schema (SQLAlchemy Core). Prices are integer cents; times are stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

__all__ = ["UtcDateTime", "metadata", "products"]

metadata = MetaData()


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


products = Table(
    "catalog_products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sku", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("price_cents", BigInteger, nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("category_path", String(255), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("stock >= 0", name="ck_catalog_products_stock_non_negative"),
    CheckConstraint("price_cents >= 0", name="ck_catalog_products_price_non_negative"),
    CheckConstraint("status IN ('active', 'discontinued')", name="ck_catalog_products_status"),
)
