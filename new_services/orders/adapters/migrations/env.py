"""Alembic environment: the connection comes from ``config.attributes`` (see adapters.migrate)."""

from __future__ import annotations

from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.adapters.tables import metadata

MIGRATIONS.run_environment(metadata)
