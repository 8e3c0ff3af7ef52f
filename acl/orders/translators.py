r"""Pure translators from the monolith's order representations to ``OrderRecord``, and back.

Legacy rows (``tbl_order`` and its ``tbl_order_line`` rows)::

    ord_id, ord_no "ORD-20260101-000042", cust_id, ord_sts 'N' | 'P' | 'S' | 'C', tot_amt "39.80" (string),
    ord_dt naive Europe/Berlin;  line_id, ord_id, prd_id, qty >= 1, unit_prc "19.90" (string)

Outbox payload (``order.placed`` / ``order.status_changed`` / ``order.updated``): the order row with its
lines under ``lines`` and ``ord_dt`` as a naive ISO 8601 string, exactly as stored.

The rows hold ids only: the caller resolves ``cust_id`` and each ``prd_id`` first (``LegacyReferences``,
see ``acl.orders.references``). Every malformed value raises ``LegacyDataError`` naming the field (line
fields as ``lines[0].qty``); nothing is coerced. A total that is not the sum of the lines is refused
rather than recomputed, so both sides never show different totals for one order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from acl.catalog.translators import decode_price, encode_price
from acl.errors import LegacyDataError
from acl.orders.records import CURRENCY, OrderLineRecord, OrderRecord, OrderStatus
from acl.orders.references import LegacyReferences
from acl.timezones import parse_legacy_local, to_legacy_local

__all__ = [
    "decode_order_status",
    "encode_order_status",
    "order_from_legacy_payload",
    "order_from_legacy_row",
    "order_to_legacy_payload",
]

# The monolith's own rule for order numbers it accepts from a service (legacy_monolith/orders/placed.py).
_ORDER_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,29}")
_STATUS_CODES = {
    "N": OrderStatus.NEW,
    "P": OrderStatus.PAID,
    "S": OrderStatus.SHIPPED,
    "C": OrderStatus.CANCELLED,
}
_STATUS_LETTERS = {status: code for code, status in _STATUS_CODES.items()}
_ORDER_FIELDS = ("ord_id", "ord_no", "cust_id", "ord_sts", "tot_amt", "ord_dt")
_LINE_FIELDS = ("prd_id", "qty", "unit_prc")
MAX_SKU_LENGTH = 40
MAX_NAME_LENGTH = 200


def decode_order_status(code: object, *, field: str = "ord_sts") -> OrderStatus:
    try:
        return _STATUS_CODES[code]  # type: ignore[index]
    except (KeyError, TypeError):
        raise LegacyDataError(
            field, code, "expected 'N' (new), 'P' (paid), 'S' (shipped) or 'C' (cancelled)"
        ) from None


def encode_order_status(status: OrderStatus) -> str:
    return _STATUS_LETTERS[status]


def _id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LegacyDataError(field, value, "expected an integer")
    if value < 1:
        raise LegacyDataError(field, value, "expected at least 1")
    return value


def _order_no(value: object) -> str:
    if not isinstance(value, str) or _ORDER_NO.fullmatch(value) is None:
        raise LegacyDataError(
            "ord_no", value, "expected an order number like 'ORD-20260101-000042' (at most 30 characters)"
        )
    return value


def _reference_text(value: str, field: str, max_length: int) -> str:
    if not value.strip() or len(value) > max_length:
        raise LegacyDataError(field, value, f"expected non-blank text of at most {max_length} characters")
    return value


def _line(row: object, index: int, references: LegacyReferences) -> OrderLineRecord:
    where = f"lines[{index}]"
    if not isinstance(row, Mapping):
        raise LegacyDataError(where, row, "expected an order line object")
    missing = [name for name in _LINE_FIELDS if name not in row]
    if missing:
        raise LegacyDataError(f"{where}.{missing[0]}", None, f"missing column(s): {', '.join(missing)}")
    product_id = _id(row["prd_id"], f"{where}.prd_id")
    product = references.products.get(product_id)
    if product is None:
        raise LegacyDataError(f"{where}.prd_id", product_id, "no such product in tbl_product")
    return OrderLineRecord(
        product_id=product_id,
        sku=_reference_text(product.sku, f"{where}.prd_cd", MAX_SKU_LENGTH),
        name=_reference_text(product.name, f"{where}.prd_nm", MAX_NAME_LENGTH),
        quantity=_id(row["qty"], f"{where}.qty"),
        unit_price=decode_price(row["unit_prc"], field=f"{where}.unit_prc"),
    )


def order_from_legacy_row(
    row: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], references: LegacyReferences
) -> OrderRecord:
    """A ``tbl_order`` row and its ``tbl_order_line`` rows (in ``line_id`` order) -> OrderRecord."""
    if not isinstance(row, Mapping):
        raise LegacyDataError("order", row, "expected an order object")
    missing = [name for name in _ORDER_FIELDS if name not in row]
    if missing:
        raise LegacyDataError(missing[0], None, f"missing column(s): {', '.join(missing)}")
    _id(row["ord_id"], "ord_id")
    order_no = _order_no(row["ord_no"])
    customer_id = _id(row["cust_id"], "cust_id")
    user_id = references.customers.get(customer_id)
    if user_id is None:
        raise LegacyDataError("cust_id", customer_id, "no such customer in tbl_customer")
    status = decode_order_status(row["ord_sts"])
    total = decode_price(row["tot_amt"], field="tot_amt")
    ordered_at = parse_legacy_local(row["ord_dt"], "ord_dt")
    if isinstance(lines, (str, bytes)) or not isinstance(lines, Sequence) or not lines:
        raise LegacyDataError("lines", lines, "an order has at least one line")
    records = tuple(_line(line, index, references) for index, line in enumerate(lines))
    computed = sum((line.line_total for line in records), Decimal("0.00"))
    if computed != total:
        raise LegacyDataError("tot_amt", row["tot_amt"], f"not the sum of the lines ({computed:.2f})")
    return OrderRecord(
        order_no=order_no,
        customer_user_id=_id(user_id, "tbl_customer.user_id"),
        status=status,
        ordered_at=ordered_at,
        lines=records,
        total=total,
        currency=CURRENCY,
    )


def order_from_legacy_payload(payload: Mapping[str, Any], references: LegacyReferences) -> OrderRecord:
    """An order event's payload (the row with ``lines``) -> OrderRecord."""
    if not isinstance(payload, Mapping):
        raise LegacyDataError("payload", payload, "expected a JSON object")
    if "lines" not in payload:
        raise LegacyDataError("lines", None, "missing key: lines")
    return order_from_legacy_row(payload, payload["lines"], references)


def order_to_legacy_payload(
    record: OrderRecord, *, ord_id: int, cust_id: int, line_ids: Sequence[int]
) -> dict[str, Any]:
    """OrderRecord -> the payload the monolith's outbox writes, for the legacy ids given."""
    if len(line_ids) != len(record.lines):
        raise ValueError(f"{len(record.lines)} lines need as many line ids, got {len(line_ids)}")
    return {
        "ord_id": ord_id,
        "ord_no": record.order_no,
        "cust_id": cust_id,
        "ord_sts": encode_order_status(record.status),
        "tot_amt": encode_price(record.total),
        "ord_dt": to_legacy_local(record.ordered_at).isoformat(),
        "lines": [
            {
                "line_id": line_id,
                "prd_id": line.product_id,
                "qty": line.quantity,
                "unit_prc": encode_price(line.unit_price),
            }
            for line_id, line in zip(line_ids, record.lines, strict=True)
        ],
    }
