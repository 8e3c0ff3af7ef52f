"""Orders as the monolith renders them (see legacy_monolith/API.md, ``ORDER``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from new_services.orders.domain import SHOP_TIMEZONE, Order
from new_services.orders.service_layer import OrderPage

__all__ = ["order_to_dict", "page_to_dict"]


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "order_no": order.order_no,
        "status": order.status.value,
        "total": str(order.total),
        "currency": order.total.currency,
        "ordered_at": order.ordered_at.astimezone(SHOP_TIMEZONE).isoformat(timespec="seconds"),
        "lines": [
            {
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
            }
            for line in order.lines
        ],
    }


def page_to_dict(path: str, page: OrderPage) -> dict[str, Any]:
    def link(number: int) -> str:
        return f"{path}?{urlencode([('page', number), ('page_size', page.page_size)])}"

    return {
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "num_pages": page.num_pages,
        "next": link(page.page + 1) if page.page < page.num_pages else None,
        "previous": link(page.page - 1) if page.page > 1 else None,
        "results": [order_to_dict(order) for order in page.orders],
    }
