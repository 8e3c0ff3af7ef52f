"""The catalog's ``acl.sync.ports.CatalogPort``: how the sync processes write legacy changes into the
catalog and read it back for reconciliation, without importing anything else of the service.

``create_port()`` is the factory the sync processes load by name
(``new_services.catalog.entrypoints.sync_port:create_port``); it reads the catalog's settings from the
environment and brings the schema up to date first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from acl.catalog import ProductRecord
from new_services.catalog.adapters.migrate import upgrade_to_head
from new_services.catalog.bootstrap import Catalog, bootstrap
from new_services.catalog.config import CatalogSettings
from new_services.catalog.service_layer.backfill import CatalogProductSink, count_products, iter_records

__all__ = ["CatalogSyncPort", "create_port"]


class CatalogSyncPort:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._sink = CatalogProductSink(catalog.uow_factory)

    def apply_products(self, records: Sequence[ProductRecord]) -> int:
        """Upsert ``records`` by id in one transaction; return how many were written."""
        return self._sink.write(records)

    def product_records(self, *, batch_size: int = 1000) -> Iterator[ProductRecord]:
        return iter_records(self._catalog.uow_factory, batch_size=batch_size)

    def count_products(self) -> int:
        return count_products(self._catalog.uow_factory)

    def close(self) -> None:
        self._catalog.dispose()


def create_port(settings: CatalogSettings | None = None) -> CatalogSyncPort:
    catalog = bootstrap(settings or CatalogSettings())
    if catalog.engine is not None:
        upgrade_to_head(catalog.engine)
    return CatalogSyncPort(catalog)
