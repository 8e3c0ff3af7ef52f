"""Alembic environment: the connection comes from ``config.attributes`` (see adapters.migrate)."""

from __future__ import annotations

from alembic import context

from new_services.orders.adapters.migrate import VERSION_TABLE
from new_services.orders.adapters.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through new_services.orders.adapters.migrate.upgrade_to_head(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
