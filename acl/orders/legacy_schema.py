"""The monolith's order and customer tables as the ACL reads them (SQLAlchemy Core, never created from
here; tests create them in throw-away databases). Products are ``acl.catalog.legacy_schema.tbl_product``."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

__all__ = ["legacy_orders_metadata", "tbl_customer", "tbl_order", "tbl_order_line"]

legacy_orders_metadata = MetaData()

tbl_customer = Table(
    "tbl_customer",
    legacy_orders_metadata,
    Column("cust_id", Integer, primary_key=True),
    Column("user_id", Integer, nullable=False, unique=True),
    Column("cust_nm", String(100), nullable=False),
)

tbl_order = Table(
    "tbl_order",
    legacy_orders_metadata,
    Column("ord_id", Integer, primary_key=True),
    Column("ord_no", String(30), nullable=False, unique=True),
    Column("cust_id", Integer, nullable=False),
    Column("ord_sts", String(1), nullable=False),
    Column("tot_amt", String(20), nullable=False),
    Column("ord_dt", DateTime, nullable=False),
)

tbl_order_line = Table(
    "tbl_order_line",
    legacy_orders_metadata,
    Column("line_id", Integer, primary_key=True),
    Column("ord_id", Integer, nullable=False, index=True),
    Column("prd_id", Integer, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_prc", String(20), nullable=False),
)
