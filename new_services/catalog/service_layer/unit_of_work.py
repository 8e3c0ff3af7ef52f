"""The unit of work: one atomic change (or one consistent read) of the catalog's store."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from new_services.catalog.domain import Product
from new_services.catalog.service_layer.repository import ProductRepository
from new_services.kit.unit_of_work import UnitOfWork

__all__ = ["AbstractUnitOfWork", "ShadowUnitOfWork"]


class AbstractUnitOfWork(UnitOfWork):
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls back."""

    products: ProductRepository

    @abc.abstractmethod
    def record_stock_change(self, product: Product, *, delta: int | None = None) -> None:
        """Announce the stock change of ``product`` to the other side, inside this unit's transaction:
        the move ``delta`` (None when the level was set) and the level it made."""

    @abc.abstractmethod
    def record_field_change(self, product: Product, fields: tuple[str, ...]) -> None:
        """Announce the change of ``fields`` (``name``, ``description``, ``price``) of ``product`` to the
        other side, inside this unit's transaction, with the product's fields version it made."""


class ShadowUnitOfWork(AbstractUnitOfWork):
    """Runs a use case on ``inner`` to the end, then rolls back: nothing is stored, nothing announced."""

    def __init__(self, inner: AbstractUnitOfWork) -> None:
        self._inner = inner

    def __enter__(self) -> Self:
        self._inner.__enter__()
        self.products = self._inner.products
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def record_stock_change(self, product: Product, *, delta: int | None = None) -> None:
        self._inner.record_stock_change(product, delta=delta)

    def record_field_change(self, product: Product, fields: tuple[str, ...]) -> None:
        self._inner.record_field_change(product, fields)

    def commit(self) -> None:
        self._inner.rollback()

    def rollback(self) -> None:
        self._inner.rollback()
