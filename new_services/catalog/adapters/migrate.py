"""The catalog service's Alembic migrations (``migrations/``), run without an alembic.ini and recorded in
a version table of its own, so that the catalog service can share a PostgreSQL database with other schemas:
``MIGRATIONS.upgrade_to_head(engine)``, ``MIGRATIONS.readiness(engine)``..."""

from __future__ import annotations

from pathlib import Path

from new_services.kit.migrations import AlembicMigrations

__all__ = ["MIGRATIONS"]

MIGRATIONS = AlembicMigrations(Path(__file__).with_name("migrations"), "catalog_alembic_version")
