"""A data mapper between the catalog table and domain Products, over one SQLAlchemy connection.

The domain stays free of SQLAlchemy: rows are turned into value objects here, and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from new_services.catalog.adapters.tables import products
from new_services.catalog.domain import CategoryPath, Money, Product, Sku, Status, Stock
from new_services.catalog.domain.category import SEPARATOR
from new_services.catalog.service_layer.criteria import ProductCriteria

__all__ = ["SqlAlchemyProductRepository", "product_from_row", "product_to_row"]

_SORT_COLUMNS = {
    "id": products.c.id,
    "name": products.c.name,
    "price": products.c.price_cents,
    "sku": products.c.sku,
}


class SqlAlchemyProductRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, product_id: int) -> Product | None:
        row = self._connection.execute(select(products).where(products.c.id == product_id)).mappings().first()
        return None if row is None else product_from_row(row)

    def save(self, product: Product) -> None:
        self.save_many([product])

    def save_many(self, items: Iterable[Product]) -> int:
        rows = [product_to_row(product) for product in items]
        if not rows:
            return 0
        existing = set(
            self._connection.scalars(select(products.c.id).where(products.c.id.in_([r["id"] for r in rows])))
        )
        new_rows = [row for row in rows if row["id"] not in existing]
        if new_rows:
            self._connection.execute(insert(products), new_rows)
        for row in rows:
            if row["id"] in existing:
                self._connection.execute(update(products).where(products.c.id == row["id"]).values(**row))
        return len(rows)

    def category_paths(self) -> set[str]:
        return set(self._connection.scalars(select(products.c.category_path).distinct()))

    def count(self, criteria: ProductCriteria) -> int:
        query = select(func.count()).select_from(products).where(*_conditions(criteria))
        return int(self._connection.scalar(query) or 0)

    def search(self, criteria: ProductCriteria, *, offset: int, limit: int) -> Sequence[Product]:
        query: Select[Any] = select(products).where(*_conditions(criteria))
        column: ColumnElement[Any] = _SORT_COLUMNS[criteria.sort_field]
        if criteria.sort_field in ("name", "sku") and self._connection.dialect.name == "postgresql":
            # code-point order on every server, as SQLite (and the in-memory fake) sort text
            column = column.collate("C")
        if criteria.descending:
            query = query.order_by(column.desc(), products.c.id.desc())
        else:
            query = query.order_by(column.asc(), products.c.id.asc())
        rows = self._connection.execute(query.offset(offset).limit(limit)).mappings()
        return [product_from_row(row) for row in rows]


def _conditions(criteria: ProductCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.q:
        needle = criteria.q.lower()
        conditions.append(
            or_(
                func.lower(products.c.name).contains(needle, autoescape=True),
                func.lower(products.c.sku).contains(needle, autoescape=True),
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
        conditions.append(products.c.status == criteria.status.value)
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


def product_from_row(row: RowMapping) -> Product:
    return Product(
        id=row["id"],
        sku=Sku(row["sku"]),
        name=row["name"],
        description=row["description"],
        price=Money.from_minor_units(row["price_cents"], row["currency"]),
        stock=Stock(row["stock"]),
        status=Status(row["status"]),
        category=CategoryPath.parse(row["category_path"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def product_to_row(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": product.sku.value,
        "name": product.name,
        "description": product.description,
        "price_cents": product.price.minor_units,
        "currency": product.price.currency,
        "stock": product.stock.quantity,
        "status": product.status.value,
        "category_path": str(product.category),
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }
