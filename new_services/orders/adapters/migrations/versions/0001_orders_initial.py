"""orders: orders and lines, checkout sagas and their reservations, the reverse-sync outbox

``service_outbox`` has the shape acl.sync's reverse relay reads (``acl.sync.core.tables.service_outbox``).

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
        "orders_order_number",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "orders_order",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_no", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkout_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_no"),
    )
    op.create_index("ix_orders_order_customer_ordered", "orders_order", ["customer_id", "ordered_at"])
    op.create_table(
        "orders_order_line",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_order_line_order_id", "orders_order_line", ["order_id"])
    op.create_table(
        "orders_checkout",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("order_no", sa.String(length=30), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "idempotency_key", name="uq_orders_checkout_customer_key"),
    )
    op.create_table(
        "orders_checkout_reservation",
        sa.Column("checkout_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["checkout_id"], ["orders_checkout.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("checkout_id", "product_id"),
    )
    op.create_table(
        "service_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("aggregate_type", sa.String(length=30), nullable=False),
        sa.Column("aggregate_id", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="uq_service_outbox_sequence"),
    )
    op.create_index("ix_service_outbox_published_at", "service_outbox", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_service_outbox_published_at", table_name="service_outbox")
    op.drop_table("service_outbox")
    op.drop_table("orders_checkout_reservation")
    op.drop_table("orders_checkout")
    op.drop_index("ix_orders_order_line_order_id", table_name="orders_order_line")
    op.drop_table("orders_order_line")
    op.drop_index("ix_orders_order_customer_ordered", table_name="orders_order")
    op.drop_table("orders_order")
    op.drop_table("orders_order_number")
