"""The catalog's own schema (SQLAlchemy Core): prices are integer cents, times are stored as UTC.

The columns carry value-object types (adapters.column_types); adapters.orm maps Product onto the table.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, String, Table, Text

from new_services.catalog.adapters.column_types import (
    CategoryPathType,
    CentsType,
    SkuType,
    StatusType,
    StockType,
    UtcDateTime,
)

__all__ = ["metadata", "products"]

metadata = MetaData()

products = Table(
    "catalog_products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sku", SkuType(), nullable=False, unique=True),
    Column("name", String(200), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("price_cents", CentsType(), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("stock", StockType(), nullable=False),
    Column("status", StatusType(), nullable=False),
    Column("category_path", CategoryPathType(), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("stock >= 0", name="ck_catalog_products_stock_non_negative"),
    CheckConstraint("price_cents >= 0", name="ck_catalog_products_price_non_negative"),
    CheckConstraint("status IN ('active', 'discontinued')", name="ck_catalog_products_status"),
)
