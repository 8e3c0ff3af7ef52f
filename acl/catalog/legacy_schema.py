"""The monolith's catalog tables as the ACL reads them (SQLAlchemy Core, never created from here)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

__all__ = ["legacy_metadata", "tbl_category", "tbl_product"]

legacy_metadata = MetaData()

tbl_category = Table(
    "tbl_category",
    legacy_metadata,
    Column("ctg_id", Integer, primary_key=True),
    Column("ctg_nm", String(100), nullable=False),
    Column("parent_id", Integer, ForeignKey("tbl_category.ctg_id"), nullable=True),
    Column("cat_path", String(255), nullable=False, unique=True),
)

tbl_product = Table(
    "tbl_product",
    legacy_metadata,
    Column("prd_id", Integer, primary_key=True),
    Column("prd_cd", String(32), nullable=False, unique=True),
    Column("prd_nm", String(200), nullable=False),
    Column("prd_desc", Text, nullable=False),
    Column("unit_prc", String(20), nullable=False),
    Column("stk_qty", Integer, nullable=False),
    Column("sts_cd", String(1), nullable=False),
    Column("ctg_id", Integer, ForeignKey("tbl_category.ctg_id"), nullable=False),
    Column("cat_path", String(255), nullable=False),
    Column("crt_dt", DateTime, nullable=False),
    Column("upd_dt", DateTime, nullable=False),
)
