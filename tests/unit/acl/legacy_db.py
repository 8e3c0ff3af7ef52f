"""A throw-away legacy database with the monolith's catalog tables, for ACL tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from acl.catalog.legacy_schema import legacy_metadata, tbl_category, tbl_product

__all__ = ["legacy_row", "make_legacy_database"]


def legacy_row(prd_id: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "prd_id": prd_id,
        "prd_cd": f"LS-{prd_id:06d}",
        "prd_nm": f"Product {prd_id}",
        "prd_desc": f"Description of {prd_id}",
        "unit_prc": f"{prd_id}.{prd_id % 100:02d}",
        "stk_qty": prd_id % 7,
        "sts_cd": "D" if prd_id % 5 == 0 else "A",
        "ctg_id": 3,
        "cat_path": "Home>Kitchen>Knives",
        "crt_dt": datetime(2016, 3, 1, 10, 0) + timedelta(days=prd_id),
        "upd_dt": datetime(2017, 3, 1, 10, 0) + timedelta(days=prd_id),
    }
    row.update(overrides)
    return row


def make_legacy_database(path: Path, rows: list[dict[str, Any]]) -> str:
    """Create ``tbl_category``/``tbl_product`` in a SQLite file at ``path``; return its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    legacy_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(tbl_category),
            [
                {"ctg_id": 1, "ctg_nm": "Home", "parent_id": None, "cat_path": "Home"},
                {"ctg_id": 2, "ctg_nm": "Kitchen", "parent_id": 1, "cat_path": "Home>Kitchen"},
                {"ctg_id": 3, "ctg_nm": "Knives", "parent_id": 2, "cat_path": "Home>Kitchen>Knives"},
            ],
        )
        if rows:
            connection.execute(insert(tbl_product), rows)
    engine.dispose()
    return url
