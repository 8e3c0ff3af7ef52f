"""The SQLAlchemy repository: mapped Products through a Session (see adapters.orm for the mapping)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from new_services.catalog.adapters.tables import products
from new_services.catalog.domain import Product
from new_services.catalog.domain.category import SEPARATOR
from new_services.catalog.service_layer.criteria import ProductCriteria

__all__ = ["SqlAlchemyProductRepository"]

_SORT_COLUMNS = {
    "id": products.c.id,
    "name": products.c.name,
    "price": products.c.price_cents,
    "sku": products.c.sku,
}


class SqlAlchemyProductRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, product_id: int) -> Product | None:
        return self._session.get(Product, product_id)

    def get_for_update(self, product_id: int) -> Product | None:
        """Lock the row first with a no-op UPDATE (a row lock on PostgreSQL, the write lock on SQLite),
        so concurrent changes of one product run one after the other and none is lost."""
        self._session.execute(update(products).where(products.c.id == product_id).values(id=products.c.id))
        return self._session.get(Product, product_id, populate_existing=True)

    def save(self, product: Product) -> None:
        self.save_many([product])

    def save_many(self, items: Iterable[Product]) -> int:
        """Upsert by id: the rows that exist are loaded in one query, then every product is merged."""
        batch = list(items)
        if not batch:
            return 0
        list(self._session.scalars(select(Product).where(products.c.id.in_([p.id for p in batch]))))
        for product in batch:
            self._session.merge(product)
        self._session.flush()
        return len(batch)

    def category_paths(self) -> set[str]:
        paths: list[str] = list(self._session.scalars(select(products.c.category_path).distinct()))
        return {str(path) for path in paths}

    def count(self, criteria: ProductCriteria) -> int:
        query = select(func.count()).select_from(products).where(*_conditions(criteria))
        return int(self._session.scalar(query) or 0)

    def search(self, criteria: ProductCriteria, *, offset: int, limit: int) -> Sequence[Product]:
        column: ColumnElement[Any] = _SORT_COLUMNS[criteria.sort_field]
        if criteria.sort_field in ("name", "sku") and self._session.get_bind().dialect.name == "postgresql":
            # code-point order on every server, as SQLite (and the in-memory fake) sort text
            column = column.collate("C")
        if criteria.descending:
            order = (column.desc(), products.c.id.desc())
        else:
            order = (column.asc(), products.c.id.asc())
        query = select(Product).where(*_conditions(criteria)).order_by(*order).offset(offset).limit(limit)
        return list(self._session.scalars(query))


def _conditions(criteria: ProductCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.q:
        # lower() on both sides in SQL: SQLite folds ASCII only, as the monolith's LIKE does there
        conditions.append(
            or_(
                products.c.name.icontains(criteria.q, autoescape=True),
                products.c.sku.icontains(criteria.q, autoescape=True),
            )
        )
    if criteria.category:
        conditions.append(
            or_(
                products.c.category_path == criteria.category,
                products.c.category_path.startswith(criteria.category + SEPARATOR, autoescape=True),
            )
        )
    if criteria.status is not None:
        conditions.append(products.c.status == criteria.status)
    if criteria.min_price is not None:
        conditions.append(products.c.price_cents >= _cents(criteria.min_price))
    if criteria.max_price is not None:
        conditions.append(products.c.price_cents <= _cents(criteria.max_price, ceiling=False))
    return [and_(*conditions)] if conditions else []


def _cents(amount: Decimal, *, ceiling: bool = True) -> int:
    """Bounds with sub-cent digits round inward so that the comparison stays exact."""
    scaled = amount * 100
    whole = int(scaled)
    if scaled != whole and ceiling and scaled > 0:
        return whole + 1
    if scaled != whole and not ceiling and scaled < 0:
        return whole - 1
    return whole
