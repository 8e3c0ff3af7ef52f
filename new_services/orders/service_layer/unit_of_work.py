"""The unit of work: one atomic change (or one consistent read) of the orders database."""

from __future__ import annotations

from new_services.kit.unit_of_work import UnitOfWork
from new_services.orders.service_layer.repository import CheckoutRepository, OrderRepository, Outbox

__all__ = ["AbstractUnitOfWork"]


class AbstractUnitOfWork(UnitOfWork):
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls back."""

    orders: OrderRepository
    checkouts: CheckoutRepository
    outbox: Outbox
