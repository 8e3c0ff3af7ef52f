"""OrderRecord: the ACL's published language for an order — typed, validated, free of legacy names.

An order is known by its number (``order_no``), the identity both sides share; the legacy ``ord_id`` and
``cust_id`` stay inside the ACL. Services build their own domain objects from it (reading it by
attribute); nothing here knows a service's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = ["CURRENCY", "OrderLineRecord", "OrderRecord", "OrderStatus"]

CURRENCY = "EUR"


class OrderStatus(StrEnum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    """One line; ``sku`` and ``name`` are the product's as the monolith holds them now (its order lines
    keep only the product id, the quantity and the unit price paid)."""

    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order with its lines in legacy line order; ``total`` is the sum of the lines (two decimal
    places), ``ordered_at`` aware UTC, ``customer_user_id`` the shop account's user id."""

    order_no: str
    customer_user_id: int
    status: OrderStatus
    ordered_at: datetime
    lines: tuple[OrderLineRecord, ...]
    total: Decimal
    currency: str = CURRENCY
