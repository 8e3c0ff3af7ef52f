"""JSON bodies for the cart and orders (see API.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from legacy_monolith.legacyshop.api import local_isoformat
from legacy_monolith.orders.cart import Cart
from legacy_monolith.orders.models import Order

__all__ = ["STATUS_NAMES", "cart_to_dict", "order_to_dict"]

STATUS_NAMES = {
    Order.STATUS_NEW: "new",
    Order.STATUS_PAID: "paid",
    Order.STATUS_SHIPPED: "shipped",
    Order.STATUS_CANCELLED: "cancelled",
}


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def cart_to_dict(cart: Cart) -> dict[str, Any]:
    lines = cart.lines()
    return {
        "items": [
            {
                "product_id": line.product.prd_id,
                "sku": line.product.prd_cd,
                "name": line.product.prd_nm,
                "quantity": line.quantity,
                "unit_price": line.product.unit_prc,
                "line_total": _money(line.line_total),
            }
            for line in lines
        ],
        "total": _money(sum(line.line_total for line in lines)),
        "currency": settings.SHOP_CURRENCY,
    }


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "order_no": order.ord_no,
        "status": STATUS_NAMES.get(order.ord_sts, order.ord_sts),
        "total": order.tot_amt,
        "currency": settings.SHOP_CURRENCY,
        "ordered_at": local_isoformat(order.ord_dt),
        "lines": [
            {
                "product_id": line.prd_id,
                "sku": line.prd.prd_cd,
                "name": line.prd.prd_nm,
                "quantity": line.qty,
                "unit_price": line.unit_prc,
                "line_total": _money(line.line_total),
            }
            for line in order.lines.all()
        ],
    }
