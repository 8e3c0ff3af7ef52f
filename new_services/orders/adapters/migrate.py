"""The orders service's Alembic migrations (``migrations/``), run without an alembic.ini and recorded in
a version table of its own, so that the orders service can share a PostgreSQL database with other schemas."""

from __future__ import annotations

from pathlib import Path

from new_services.kit.migrations import AlembicMigrations

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "upgrade_to_head"]

MIGRATIONS = AlembicMigrations(Path(__file__).with_name("migrations"), "orders_alembic_version")

upgrade_to_head = MIGRATIONS.upgrade_to_head
"""Bring the orders database at ``engine`` up to the newest revision; return that revision."""
head_revision = MIGRATIONS.head_revision
current_revision = MIGRATIONS.current_revision
"""The revision the database is at, or None when it was never migrated."""
