"""catalog_products: the catalog's own products table

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_products",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category_path", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("stock >= 0", name="ck_catalog_products_stock_non_negative"),
        sa.CheckConstraint("price_cents >= 0", name="ck_catalog_products_price_non_negative"),
        sa.CheckConstraint("status IN ('active', 'discontinued')", name="ck_catalog_products_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
    )
    op.create_index("ix_catalog_products_name", "catalog_products", ["name"])
    op.create_index("ix_catalog_products_price_cents", "catalog_products", ["price_cents"])
    op.create_index("ix_catalog_products_category_path", "catalog_products", ["category_path"])


def downgrade() -> None:
    op.drop_index("ix_catalog_products_category_path", table_name="catalog_products")
    op.drop_index("ix_catalog_products_price_cents", table_name="catalog_products")
    op.drop_index("ix_catalog_products_name", table_name="catalog_products")
    op.drop_table("catalog_products")
