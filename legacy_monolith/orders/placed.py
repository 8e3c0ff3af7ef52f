"""``order.placed`` from the orders service: the order and its lines, without touching stock.

The payload (service vocabulary, as ``new_services.orders`` writes it)::

    {"order_no": "ORD-20260101-000001", "customer_user_id": 7, "status": "new", "total": "39.80",
     "currency": "EUR", "ordered_at": "2026-01-01T10:00:00+00:00", "stock_reserved": true,
     "lines": [{"product_id": 3, "sku": "...", "name": "...", "quantity": 2, "unit_price": "19.90"}]}

``stock_reserved`` must be true: the service already took the stock through the stock API, so taking it
again here would count it twice.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from legacy_monolith.catalog.models import Product
from legacy_monolith.customers.models import Customer
from legacy_monolith.orders.models import Order, OrderLine

__all__ = ["ORDER_STATUSES", "OrderExists", "OrderPlacedError", "order_placed_apply"]

_MONEY = re.compile(r"\d{1,15}\.\d{2}")
_ORDER_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,29}")
ORDER_STATUSES = {
    "new": Order.STATUS_NEW,
    "paid": Order.STATUS_PAID,
    "shipped": Order.STATUS_SHIPPED,
    "cancelled": Order.STATUS_CANCELLED,
}


class OrderPlacedError(ValueError):
    """The payload is malformed or names an unknown customer or product; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OrderExists(Exception):
    """An order with this number is already here (placed by an earlier delivery)."""


def _money(value: Any, field: str) -> str:
    if not (isinstance(value, str) and _MONEY.fullmatch(value)):
        raise OrderPlacedError(field, f"{field} must be an amount with two decimals like '19.90'.")
    return value


def _positive_int(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise OrderPlacedError(field, f"{field} must be an integer >= 1.")
    return value


def _local_time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise OrderPlacedError("ordered_at", "ordered_at must be an ISO 8601 time with its offset.")
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None, microsecond=0)


def _lines(value: Any) -> list[tuple[int, int, str]]:
    if not isinstance(value, list) or not value or not all(isinstance(line, dict) for line in value):
        raise OrderPlacedError("lines", "lines must be a non-empty list of objects.")
    return [
        (
            _positive_int(line.get("product_id"), f"lines[{index}].product_id"),
            _positive_int(line.get("quantity"), f"lines[{index}].quantity"),
            _money(line.get("unit_price"), f"lines[{index}].unit_price"),
        )
        for index, line in enumerate(value)
    ]


def order_placed_apply(*, order_no: str, payload: dict[str, Any]) -> Order:
    """Create the order ``order_no`` with its lines (call inside a transaction); stock stays as it is."""
    if payload.get("order_no") != order_no or not _ORDER_NO.fullmatch(order_no):
        raise OrderPlacedError(
            "order_no", "order_no must be the event's aggregate id (at most 30 characters)."
        )
    if payload.get("stock_reserved") is not True:
        raise OrderPlacedError(
            "stock_reserved", "only orders whose stock the service reserved can be applied."
        )
    status = ORDER_STATUSES.get(payload.get("status"))  # type: ignore[arg-type]
    if status is None:
        raise OrderPlacedError("status", f"status must be one of {', '.join(ORDER_STATUSES)}.")
    total = _money(payload.get("total"), "total")
    if payload.get("currency") != "EUR":
        raise OrderPlacedError("currency", "currency must be 'EUR', the shop's only currency.")
    ordered = _local_time(payload.get("ordered_at"))
    lines = _lines(payload.get("lines"))
    if sum(Decimal(price) * qty for _, qty, price in lines) != Decimal(total):
        raise OrderPlacedError("total", "total is not the sum of the lines.")
    user_id = _positive_int(payload.get("customer_user_id"), "customer_user_id")
    customer = Customer.objects.filter(user_id=user_id).first()
    if customer is None:
        raise OrderPlacedError("customer_user_id", f"no customer for user {user_id}.")
    products = Product.objects.in_bulk([product_id for product_id, _, _ in lines])
    missing = sorted({product_id for product_id, _, _ in lines} - set(products))
    if missing:
        raise OrderPlacedError("lines", f"unknown products {missing}.")
    if Order.objects.filter(ord_no=order_no).exists():
        raise OrderExists(order_no)
    order = Order.objects.create(
        ord_no=order_no, cust=customer, ord_sts=status, tot_amt=total, ord_dt=ordered
    )
    OrderLine.objects.bulk_create(
        OrderLine(ord=order, prd=products[product_id], qty=qty, unit_prc=price)
        for product_id, qty, price in lines
    )
    return order
