"""The SQLAlchemy unit of work: one Session (one transaction) per ``with`` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from new_services.catalog.adapters.orm import start_mappers
from new_services.catalog.adapters.sqlalchemy_repository import SqlAlchemyProductRepository
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["SqlAlchemyUnitOfWork"]


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """Products read inside the block stay usable after it: they are detached, never expired."""

    def __init__(self, engine: Engine) -> None:
        start_mappers()
        self._session_factory = sessionmaker(bind=engine, expire_on_commit=False)
        self._session: Session | None = None

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self.products = SqlAlchemyProductRepository(self._session)
        return super().__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self._require_session()
        try:
            session.expunge_all()  # hand the objects out detached, with their loaded values
            super().__exit__(exc_type, exc, tb)
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        self._require_session().commit()

    def rollback(self) -> None:
        self._require_session().rollback()

    def _require_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session
