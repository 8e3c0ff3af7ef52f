"""Reads: a customer's orders, newest first, paginated; one order of that customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from new_services.orders.domain import Order
from new_services.orders.service_layer.errors import OrderNotFound, PageOutOfRange
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["OrderPage", "get_order", "list_orders"]


@dataclass(frozen=True, slots=True)
class OrderPage:
    count: int
    page: int
    page_size: int
    num_pages: int
    orders: list[Order]


def list_orders(
    uow_factory: Callable[[], AbstractUnitOfWork], customer_id: int, *, page: int, page_size: int
) -> OrderPage:
    """Like Django's Paginator: at least one page; a page past the last is refused."""
    with uow_factory() as uow:
        count = uow.orders.count_visible(customer_id)
        num_pages = max(1, -(-count // page_size))
        if page > num_pages:
            raise PageOutOfRange(page, num_pages)
        orders = uow.orders.list_visible(customer_id, offset=(page - 1) * page_size, limit=page_size)
    return OrderPage(count=count, page=page, page_size=page_size, num_pages=num_pages, orders=orders)


def get_order(uow_factory: Callable[[], AbstractUnitOfWork], customer_id: int, order_no: str) -> Order:
    """The order ``order_no`` when it is ``customer_id``'s and confirmed; ``OrderNotFound`` otherwise."""
    with uow_factory() as uow:
        order = uow.orders.get(order_no)
    if order is None or order.customer_id != customer_id or not order.status.visible:
        raise OrderNotFound(order_no)
    return order
