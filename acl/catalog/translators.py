r"""Pure translators between the monolith's product representations and ``ProductRecord``.

Legacy row (``tbl_product``)::

    prd_id, prd_cd "LS-000123", prd_nm, prd_desc, unit_prc "19.90" (string), stk_qty >= 0,
    sts_cd 'A' | 'D', ctg_id, cat_path "Home>Kitchen>Knives", crt_dt / upd_dt naive Europe/Berlin

Legacy JSON (``/api/products/<id>``): ``id, sku, name, description, price "19.90", currency, stock,
status "active" | "discontinued", category "A>B", created_at / updated_at ISO 8601 with offset``.

Every malformed value raises ``LegacyDataError`` naming the field; nothing is coerced. Prices follow
the monolith's own rule (``^\d{1,15}\.\d{2}$``): "19.9", "19,90", "19.901" or "-1" are refused, so any
price that passes comes back byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from acl.catalog.records import CURRENCY, ProductRecord, ProductStatus
from acl.errors import LegacyDataError
from acl.timezones import LEGACY_TIMEZONE, parse_legacy_local, to_legacy_local

__all__ = [
    "STOCK_LEVEL_FIELD",
    "decode_category_path",
    "decode_price",
    "decode_status",
    "encode_category_path",
    "encode_price",
    "encode_status",
    "product_from_legacy_json",
    "product_from_legacy_row",
    "product_to_legacy_json",
    "product_to_legacy_row",
]

STOCK_LEVEL_FIELD = "stk_qty"
"""The stock level in the monolith's events (a stock change carries it next to ``stk_delta``)."""

_PRICE = re.compile(r"\d{1,15}\.\d{2}")
_SKU = re.compile(r"[A-Z0-9](?:[A-Z0-9-]{0,30}[A-Z0-9])?")
_CENT = Decimal("0.01")
_STATUS_CODES = {"A": ProductStatus.ACTIVE, "D": ProductStatus.DISCONTINUED}
_STATUS_LETTERS = {status: code for code, status in _STATUS_CODES.items()}
CATEGORY_SEPARATOR = ">"


# --- single values -----------------------------------------------------------------------------------


def decode_price(text: object, *, field: str = "unit_prc") -> Decimal:
    """``"19.90"`` -> ``Decimal("19.90")``; exactly two decimals, no sign, no exponent, no comma."""
    if not isinstance(text, str) or _PRICE.fullmatch(text) is None:
        raise LegacyDataError(field, text, "expected a decimal string with two decimals like '19.90'")
    return Decimal(text)


def encode_price(amount: Decimal) -> str:
    if amount.quantize(_CENT) != amount or amount < 0:
        raise ValueError(f"a price has two decimal places and is not negative, got {amount}")
    return f"{amount:.2f}"


def decode_status(code: object, *, field: str = "sts_cd") -> ProductStatus:
    try:
        return _STATUS_CODES[code]  # type: ignore[index]
    except (KeyError, TypeError):
        raise LegacyDataError(field, code, "expected 'A' (active) or 'D' (discontinued)") from None


def encode_status(status: ProductStatus) -> str:
    return _STATUS_LETTERS[status]


def decode_category_path(text: object, *, field: str = "cat_path") -> tuple[str, ...]:
    """``"Home>Kitchen>Knives"`` -> ``("Home", "Kitchen", "Knives")``; empty or padded segments refused."""
    if not isinstance(text, str) or not text:
        raise LegacyDataError(field, text, "expected a category path like 'Home>Kitchen'")
    if len(text) > 255:
        raise LegacyDataError(field, text, "longer than 255 characters")
    segments = tuple(text.split(CATEGORY_SEPARATOR))
    if any(not segment or segment != segment.strip() for segment in segments):
        raise LegacyDataError(field, text, "empty or space-padded segment")
    return segments


def encode_category_path(segments: tuple[str, ...]) -> str:
    return CATEGORY_SEPARATOR.join(segments)


def _int(value: object, field: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LegacyDataError(field, value, "expected an integer")
    if value < minimum:
        raise LegacyDataError(field, value, f"expected at least {minimum}")
    return value


def _text(value: object, field: str, *, max_length: int | None, required: bool) -> str:
    if not isinstance(value, str):
        raise LegacyDataError(field, value, "expected text")
    if required and not value.strip():
        raise LegacyDataError(field, value, "must not be blank")
    if max_length is not None and len(value) > max_length:
        raise LegacyDataError(field, value, f"longer than {max_length} characters")
    return value


def _sku(value: object, field: str) -> str:
    if not isinstance(value, str) or _SKU.fullmatch(value) is None:
        raise LegacyDataError(field, value, "expected a SKU like 'LS-000123'")
    return value


def _offset_time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise LegacyDataError(field, value, "expected an ISO 8601 string with an offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LegacyDataError(field, value, "expected an ISO 8601 string with an offset") from None
    if moment.tzinfo is None:
        raise LegacyDataError(field, value, "the time has no UTC offset")
    return moment.astimezone(UTC)


# --- legacy rows -------------------------------------------------------------------------------------

_ROW_FIELDS = ("prd_id", "prd_cd", "prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "cat_path")


def product_from_legacy_row(row: Mapping[str, Any]) -> ProductRecord:
    """A ``tbl_product`` row (column name -> value) -> ProductRecord."""
    missing = [name for name in (*_ROW_FIELDS, "crt_dt", "upd_dt") if name not in row]
    if missing:
        raise LegacyDataError(missing[0], None, f"missing column(s): {', '.join(missing)}")
    return ProductRecord(
        id=_int(row["prd_id"], "prd_id", minimum=1),
        sku=_sku(row["prd_cd"], "prd_cd"),
        name=_text(row["prd_nm"], "prd_nm", max_length=200, required=True),
        description=_text(row["prd_desc"], "prd_desc", max_length=None, required=False),
        price=decode_price(row["unit_prc"], field="unit_prc"),
        stock=_int(row["stk_qty"], "stk_qty", minimum=0),
        status=decode_status(row["sts_cd"], field="sts_cd"),
        category=decode_category_path(row["cat_path"], field="cat_path"),
        created_at=parse_legacy_local(row["crt_dt"], "crt_dt"),
        updated_at=parse_legacy_local(row["upd_dt"], "upd_dt"),
    )


def product_to_legacy_row(record: ProductRecord, *, category_id: int | None = None) -> dict[str, Any]:
    """ProductRecord -> ``tbl_product`` column values; ``ctg_id`` only when the caller resolved it."""
    row: dict[str, Any] = {
        "prd_id": record.id,
        "prd_cd": record.sku,
        "prd_nm": record.name,
        "prd_desc": record.description,
        "unit_prc": encode_price(record.price),
        "stk_qty": record.stock,
        "sts_cd": encode_status(record.status),
        "cat_path": encode_category_path(record.category),
        "crt_dt": to_legacy_local(record.created_at),
        "upd_dt": to_legacy_local(record.updated_at),
    }
    if category_id is not None:
        row["ctg_id"] = category_id
    return row


# --- legacy JSON -------------------------------------------------------------------------------------

_JSON_KEYS = (
    "id",
    "sku",
    "name",
    "description",
    "price",
    "currency",
    "stock",
    "status",
    "category",
    "created_at",
    "updated_at",
)


def product_from_legacy_json(document: Mapping[str, Any]) -> ProductRecord:
    """The monolith's PRODUCT JSON object -> ProductRecord."""
    if not isinstance(document, Mapping):
        raise LegacyDataError("product", document, "expected a JSON object")
    missing = [key for key in _JSON_KEYS if key not in document]
    if missing:
        raise LegacyDataError(missing[0], None, f"missing key(s): {', '.join(missing)}")
    status_text = document["status"]
    try:
        status = ProductStatus(status_text)
    except ValueError:
        raise LegacyDataError("status", status_text, "expected 'active' or 'discontinued'") from None
    currency = document["currency"]
    if currency != CURRENCY:
        raise LegacyDataError("currency", currency, f"expected {CURRENCY!r}")
    return ProductRecord(
        id=_int(document["id"], "id", minimum=1),
        sku=_sku(document["sku"], "sku"),
        name=_text(document["name"], "name", max_length=200, required=True),
        description=_text(document["description"], "description", max_length=None, required=False),
        price=decode_price(document["price"], field="price"),
        stock=_int(document["stock"], "stock", minimum=0),
        status=status,
        category=decode_category_path(document["category"], field="category"),
        created_at=_offset_time(document["created_at"], "created_at"),
        updated_at=_offset_time(document["updated_at"], "updated_at"),
        currency=currency,
    )


def product_to_legacy_json(record: ProductRecord) -> dict[str, Any]:
    """ProductRecord -> the monolith's PRODUCT JSON object (times in Europe/Berlin with offset)."""
    return {
        "id": record.id,
        "sku": record.sku,
        "name": record.name,
        "description": record.description,
        "price": encode_price(record.price),
        "currency": record.currency,
        "stock": record.stock,
        "status": record.status.value,
        "category": encode_category_path(record.category),
        "created_at": record.created_at.astimezone(LEGACY_TIMEZONE).isoformat(),
        "updated_at": record.updated_at.astimezone(LEGACY_TIMEZONE).isoformat(),
    }
