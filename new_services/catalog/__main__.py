"""Operations on the catalog database.

``python -m new_services.catalog migrate``
    bring the catalog database to the newest schema.
``python -m new_services.catalog backfill [--legacy-database-url URL] [--batch-size N] [--after-id ID]``
    copy every product from the monolith's tables (read-only) through the ACL into the catalog
    database; the legacy URL defaults to ``$STRANGLER_LEGACY_DATABASE_URL``, else the monolith's SQLite
    file under ``$STRANGLER_HOME/legacy``. Exit status 1 when a legacy row was rejected (listed on stderr).
"""

from __future__ import annotations

import sys

from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.operations import run_backfill
from new_services.catalog.settings import CatalogSettings
from new_services.kit.migrations import migrate_command, service_commands

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser, commands = service_commands("catalog")
    backfill = commands.add_parser("backfill", help="copy the legacy products into the catalog database")
    backfill.add_argument("--legacy-database-url", default=None, help="SQLAlchemy URL of the monolith's DB")
    backfill.add_argument("--batch-size", type=int, default=500)
    backfill.add_argument("--after-id", type=int, default=0, help="resume after this legacy product id")
    args = parser.parse_args(argv)
    settings = CatalogSettings()
    if args.command == "migrate":
        return migrate_command(settings, MIGRATIONS)
    report = run_backfill(
        settings, args.legacy_database_url, batch_size=args.batch_size, after_id=args.after_id
    )
    summary = f"read {report.read}, written {report.written}, rejected {len(report.rejected)}"
    print(f"{summary} in {report.pages} pages (last legacy id {report.last_id})")
    for rejected in report.rejected:
        print(f"  rejected prd_id={rejected.legacy_id}: {rejected.error}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
