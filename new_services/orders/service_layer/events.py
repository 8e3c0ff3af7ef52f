"""The outbox event written in the same transaction as a confirmed order."""

from __future__ import annotations

from new_services.orders.domain import Order
from new_services.orders.service_layer.repository import OutboxMessage

__all__ = ["ORDER_PLACED", "order_placed"]

ORDER_PLACED = "order.placed"


def order_placed(order: Order) -> OutboxMessage:
    """``order.placed``: the stock was already taken by the saga, the monolith must not take it again."""
    return OutboxMessage(
        aggregate_type="order",
        aggregate_id=order.order_no,
        event_type=ORDER_PLACED,
        payload={
            "order_no": order.order_no,
            "customer_user_id": order.customer_id,
            "status": order.status.value,
            "total": str(order.total),
            "currency": order.total.currency,
            "ordered_at": order.ordered_at.isoformat(),
            "stock_reserved": True,
            "lines": [
                {
                    "product_id": line.product_id,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                }
                for line in order.lines
            ],
        },
    )
