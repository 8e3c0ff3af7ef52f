"""The unit of work: one atomic change (or one consistent read) of the orders database."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from new_services.orders.service_layer.repository import CheckoutRepository, OrderRepository, Outbox

__all__ = ["AbstractUnitOfWork"]


class AbstractUnitOfWork(abc.ABC):
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls back."""

    orders: OrderRepository
    checkouts: CheckoutRepository
    outbox: Outbox

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
