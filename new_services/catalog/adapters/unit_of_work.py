"""The SQLAlchemy unit of work: one Session (one transaction) per ``with`` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from acl.catalog.sync.fields import PRODUCT_AGGREGATE
from acl.catalog.sync.reverse import record_product_change
from acl.sync.core.stock import stock_version_next
from acl.sync.core.versions import version_of, version_set
from new_services.catalog.adapters.orm import start_mappers
from new_services.catalog.adapters.sqlalchemy_repository import SqlAlchemyProductRepository
from new_services.catalog.domain import Product
from new_services.catalog.service_layer.records import record_from_product
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

# Columns the catalog's stock command changes on the monolith's product row.
STOCK_COLUMNS = ("stk_qty", "upd_dt")
ORIGIN = "catalog"
# The monolith's column of each field the catalog's product command changes.
FIELD_COLUMNS = {"name": "prd_nm", "description": "prd_desc", "price": "unit_prc"}

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

    def record_stock_change(self, product: Product, *, delta: int | None = None) -> None:
        """A ``service_outbox`` row on the session's own connection: it commits or rolls back with it. It
        carries the move (``stk_delta``) and the product's stock version it made (``stk_ver``)."""
        session = self._require_session()
        session.flush()
        connection = session.connection()
        version = stock_version_next(connection, product.id)
        record_product_change(
            connection,
            record=record_from_product(product),
            origin=ORIGIN,
            columns=STOCK_COLUMNS,
            extra={"stk_delta": delta, "stk_ver": version},
        )

    def record_field_change(self, product: Product, fields: tuple[str, ...]) -> None:
        """A ``service_outbox`` row with the changed columns, the product's next fields version
        (``prd_ver``, counted in ``sync_version``) and their names (``prd_changed``): the monolith
        applies them only when it has not changed the product's fields meanwhile
        (``acl.catalog.sync.fields``)."""
        session = self._require_session()
        session.flush()
        connection = session.connection()
        key = str(product.id)
        version = (version_of(connection, PRODUCT_AGGREGATE, key, lock=True) or 0) + 1
        version_set(connection, PRODUCT_AGGREGATE, key, version)
        columns = tuple(FIELD_COLUMNS[name] for name in fields)
        record_product_change(
            connection,
            record=record_from_product(product),
            origin=ORIGIN,
            columns=(*columns, "upd_dt"),
            extra={"prd_ver": version, "prd_changed": list(columns)},
        )

    def commit(self) -> None:
        self._require_session().commit()

    def rollback(self) -> None:
        session = self._require_session()
        session.expunge_all()  # a rollback would expire them; a shadow answer still shows their values
        session.rollback()

    def _require_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session
