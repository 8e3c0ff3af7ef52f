"""The SQLAlchemy unit of work: one connection and one transaction per ``with`` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from new_services.orders.adapters.sql_repository import SqlCheckoutRepository, SqlOrderRepository, SqlOutbox
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["SqlAlchemyUnitOfWork"]


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        self._connection = self._engine.connect()
        self._connection.begin()
        self.orders = SqlOrderRepository(self._connection)
        self.checkouts = SqlCheckoutRepository(self._connection)
        self.outbox = SqlOutbox(self._connection)
        return super().__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def commit(self) -> None:
        connection = self._require_connection()
        connection.commit()
        connection.begin()

    def rollback(self) -> None:
        connection = self._require_connection()
        if connection.in_transaction():
            connection.rollback()

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._connection
