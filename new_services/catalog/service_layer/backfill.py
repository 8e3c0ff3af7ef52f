"""The catalog's end of a backfill or a sync: ACL product records written as domain Products."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from acl.catalog import ProductRecord
from new_services.catalog.service_layer.criteria import ProductCriteria
from new_services.catalog.service_layer.records import product_from_record, record_from_product
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["CatalogProductSink", "count_products", "iter_records", "product_from_record"]


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


def iter_records(
    uow_factory: Callable[[], AbstractUnitOfWork], *, batch_size: int = 1000
) -> Iterator[ProductRecord]:
    """Every stored product as an ACL record, in id order, one short read per batch (keyset on id)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    after_id = 0
    while True:
        with uow_factory() as uow:
            batch = uow.products.after_id(after_id, limit=batch_size)
        yield from (record_from_product(product) for product in batch)
        if len(batch) < batch_size:
            return
        after_id = batch[-1].id


def count_products(uow_factory: Callable[[], AbstractUnitOfWork]) -> int:
    with uow_factory() as uow:
        return uow.products.count(ProductCriteria())
