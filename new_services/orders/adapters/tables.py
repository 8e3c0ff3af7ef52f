"""The orders database's tables (SQLAlchemy Core), kept out of the domain.

The reverse-sync outbox is ``acl.sync.core.tables.service_outbox`` (its shape belongs to acl.sync; the
migrations create it in this database): written in the same transaction as the order it describes,
sent to the monolith by ``python -m acl.sync reverse`` (which sets ``published_at``).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "checkout_reservations",
    "checkouts",
    "metadata",
    "order_lines",
    "order_numbers",
    "orders",
]

metadata = MetaData()

order_numbers = Table(
    "orders_order_number",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
)

orders = Table(
    "orders_order",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_no", String(30), nullable=False, unique=True),
    Column("customer_id", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("total", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("ordered_at", DateTime(timezone=True), nullable=False),
    Column("checkout_id", String(36), nullable=True),
    Index("ix_orders_order_customer_ordered", "customer_id", "ordered_at"),
)

order_lines = Table(
    "orders_order_line",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "order_id", Integer, ForeignKey("orders_order.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),
    Column("product_id", Integer, nullable=False),
    Column("sku", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", String(20), nullable=False),
)

checkouts = Table(
    "orders_checkout",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("order_no", String(30), nullable=True),
    Column("outcome", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    UniqueConstraint("customer_id", "idempotency_key", name="uq_orders_checkout_customer_key"),
)

checkout_reservations = Table(
    "orders_checkout_reservation",
    metadata,
    Column("checkout_id", String(36), ForeignKey("orders_checkout.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", Integer, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("state", String(12), nullable=False),
)
