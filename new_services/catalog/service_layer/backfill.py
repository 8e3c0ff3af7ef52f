"""The catalog's end of a backfill: ACL product records in, domain Products written through a unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from acl.catalog import ProductRecord
from new_services.catalog.domain import CategoryPath, Money, Product, Sku, Status, Stock
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["CatalogProductSink", "product_from_record"]


def product_from_record(record: ProductRecord) -> Product:
    """The domain Product for an ACL record (the record is already validated; the domain checks again)."""
    return Product(
        id=record.id,
        sku=Sku(record.sku),
        name=record.name,
        description=record.description,
        price=Money(record.price, record.currency),
        stock=Stock(record.stock),
        status=Status(record.status.value),
        category=CategoryPath(record.category),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class CatalogProductSink:
    """A ``acl.catalog.ProductSink``: each page is upserted by id in one unit of work."""

    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    def write(self, records: Sequence[ProductRecord]) -> int:
        products = [product_from_record(record) for record in records]
        with self._uow_factory() as uow:
            written = uow.products.save_many(products)
            uow.commit()
        return written
