"""Operations on the catalog database.

``python -m new_services.catalog migrate``
    bring the catalog database to the newest schema.
``python -m new_services.catalog backfill --legacy-database-url URL``
    copy every product from the monolith's tables (read-only) through the ACL into the catalog database.
"""

from __future__ import annotations

import argparse
import sys

from acl.catalog import BackfillReport, LegacyProductSource, backfill_products
from acl.catalog.source import read_only_engine
from new_services.catalog.adapters.engine import make_engine
from new_services.catalog.adapters.migrate import upgrade_to_head
from new_services.catalog.bootstrap import bootstrap
from new_services.catalog.config import CatalogSettings
from new_services.catalog.service_layer.backfill import CatalogProductSink

__all__ = ["main", "run_backfill"]


def run_backfill(
    settings: CatalogSettings, legacy_database_url: str, *, batch_size: int = 500
) -> BackfillReport:
    """Migrate the catalog database, then backfill it from the legacy database at ``legacy_database_url``."""
    catalog = bootstrap(settings)
    legacy = read_only_engine(legacy_database_url)
    try:
        if catalog.engine is not None:
            upgrade_to_head(catalog.engine)
        sink = CatalogProductSink(catalog.uow_factory)
        return backfill_products(LegacyProductSource(legacy), sink, batch_size=batch_size)
    finally:
        legacy.dispose()
        catalog.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m new_services.catalog")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the catalog database to the newest revision")
    backfill = commands.add_parser("backfill", help="copy the legacy products into the catalog database")
    backfill.add_argument("--legacy-database-url", required=True, help="SQLAlchemy URL of the monolith's DB")
    backfill.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    settings = CatalogSettings()
    if args.command == "migrate":
        engine = make_engine(settings.database_url)
        try:
            revision = upgrade_to_head(engine)
        finally:
            engine.dispose()
        print(f"catalog database at revision {revision}")
        return 0
    report = run_backfill(settings, args.legacy_database_url, batch_size=args.batch_size)
    summary = f"read {report.read}, written {report.written}, rejected {len(report.rejected)}"
    print(f"{summary} in {report.pages} pages")
    for rejected in report.rejected:
        print(f"  rejected prd_id={rejected.legacy_id}: {rejected.error}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
