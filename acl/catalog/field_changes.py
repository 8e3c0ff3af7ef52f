"""The legacy vocabulary of a product's versioned field changes (``acl.catalog.sync.fields`` applies them).

A change of a product's other fields (not its stock) carries, next to the row's columns, the product's
fields version it made (``prd_ver``) and the columns it changed (``prd_changed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acl.catalog.translators import decode_category_path, decode_price, decode_status
from acl.errors import LegacyDataError

__all__ = [
    "FIELDS_CHANGED_FIELD",
    "FIELDS_VERSION_FIELD",
    "FIELD_COLUMNS",
    "UPDATED_FIELD",
    "fields_change_payload",
    "record_values",
    "stock_level_payload",
]

FIELDS_VERSION_FIELD = "prd_ver"
FIELDS_CHANGED_FIELD = "prd_changed"
UPDATED_FIELD = "upd_dt"
FIELD_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "sts_cd", "cat_path")
"""The columns a fields change may carry (``upd_dt`` travels with them)."""


def record_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Legacy column values -> the ``ProductRecord`` attributes they set (name, description, price,
    status, category). Raises ValueError naming the column when a value is malformed."""
    out: dict[str, Any] = {}
    try:
        for column, value in values.items():
            if column == "prd_nm":
                if not isinstance(value, str) or not value.strip() or len(value) > 200:
                    raise LegacyDataError(column, value, "expected a name of 1 to 200 characters")
                out["name"] = value
            elif column == "prd_desc":
                if not isinstance(value, str):
                    raise LegacyDataError(column, value, "expected text")
                out["description"] = value
            elif column == "unit_prc":
                out["price"] = decode_price(value)
            elif column == "sts_cd":
                out["status"] = decode_status(value)
            elif column == "cat_path":
                out["category"] = decode_category_path(value)
            else:
                raise LegacyDataError(column, value, "not a column a fields change may carry")
    except LegacyDataError as exc:
        raise ValueError(str(exc)) from exc
    return out


def fields_change_payload(
    product_id: int, values: Mapping[str, Any], *, version: int, updated: str
) -> dict[str, Any]:
    """The payload of a change setting ``values`` (legacy columns) at ``updated`` (naive local ISO)."""
    return {
        "prd_id": product_id,
        **values,
        UPDATED_FIELD: updated,
        FIELDS_VERSION_FIELD: version,
        FIELDS_CHANGED_FIELD: list(values),
    }


def stock_level_payload(product_id: int, level: int, *, version: int, updated: str) -> dict[str, Any]:
    """The payload of a change setting the stock ``level`` (not a move) with the stock ``version``."""
    return {
        "prd_id": product_id,
        "stk_qty": level,
        "stk_delta": None,
        "stk_ver": version,
        UPDATED_FIELD: updated,
    }
