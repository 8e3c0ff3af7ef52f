"""Run the catalog service's Alembic migrations without an alembic.ini: ``upgrade_to_head(engine)``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from new_services.kit.migrations import AlembicMigrations

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "current_revision", "head_revision", "upgrade_to_head"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Our own version table, so that the catalog service can share a PostgreSQL database with other schemas.
VERSION_TABLE = "catalog_alembic_version"

_MIGRATIONS = AlembicMigrations(MIGRATIONS_DIR, VERSION_TABLE)


def upgrade_to_head(engine: Engine) -> str:
    """Bring the catalog database at ``engine`` up to the newest revision; return that revision."""
    return _MIGRATIONS.upgrade_to_head(engine)


def head_revision() -> str:
    return _MIGRATIONS.head_revision


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return _MIGRATIONS.current_revision(engine)
