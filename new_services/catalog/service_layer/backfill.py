"""The catalog's end of a backfill: ACL product records written as domain Products."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from acl.catalog import ProductRecord
from new_services.catalog.service_layer.records import product_from_record
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["CatalogProductSink", "product_from_record"]


class CatalogProductSink:
    """An ``acl.catalog.ProductSink``: each batch is upserted by id in one unit of work."""

    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    def write(self, records: Sequence[ProductRecord]) -> int:
        products = [product_from_record(record) for record in records]
        with self._uow_factory() as uow:
            written = uow.products.save_many(products)
            uow.commit()
        return written
