"""Orders the monolith knows (placed there before the flip, or changed there since): kept in history.

``import_orders`` is what forward sync calls (through ``adapters.sync_port``): an upsert by order
number, idempotent, so a replayed event changes nothing. An existing order only takes the new status;
its lines and prices are history and never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from new_services.orders.domain import Order
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["import_orders"]


def import_orders(uow_factory: Callable[[], AbstractUnitOfWork], orders: Sequence[Order]) -> int:
    """Add the orders not held yet, update the status of the others; one transaction; the count."""
    with uow_factory() as uow:
        for order in orders:
            if not order.status.visible:
                raise ValueError(f"order {order.order_no}: a synced order cannot be {order.status.value}")
            held = uow.orders.get(order.order_no)
            if held is None:
                uow.orders.add(order)
            elif held.status is not order.status:
                uow.orders.save_status(order)
        uow.commit()
    return len(orders)
