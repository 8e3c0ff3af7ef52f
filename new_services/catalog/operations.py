"""Operations on the catalog database, shared by ``python -m new_services.catalog`` and any runner:
bring the schema up to date, and backfill products from the monolith's tables through the ACL."""

from __future__ import annotations

from collections.abc import Callable

from acl.catalog import BackfillReport, LegacyProductSource, backfill_products
from acl.catalog.source import read_only_engine
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.bootstrap import bootstrap
from new_services.catalog.service_layer.backfill import CatalogProductSink
from new_services.catalog.settings import CatalogSettings

__all__ = ["migrate_database", "run_backfill"]


def migrate_database(settings: CatalogSettings) -> str:
    """Upgrade the catalog database to the newest revision; return it."""
    return MIGRATIONS.migrate(settings.database_url)


def run_backfill(
    settings: CatalogSettings,
    legacy_database_url: str | None = None,
    *,
    batch_size: int = 500,
    after_id: int = 0,
    on_page: Callable[[BackfillReport], None] | None = None,
) -> BackfillReport:
    """Migrate, then upsert every legacy product (read-only, page by page) into the catalog database.

    Re-runnable: products are written by id, so a second run refreshes rather than duplicates.
    """
    migrate_database(settings)
    catalog = bootstrap(settings)
    legacy = read_only_engine(legacy_database_url or settings.legacy_database_url)
    try:
        sink = CatalogProductSink(catalog.uow_factory)
        return backfill_products(
            LegacyProductSource(legacy), sink, batch_size=batch_size, after_id=after_id, on_page=on_page
        )
    finally:
        legacy.dispose()
        catalog.dispose()
