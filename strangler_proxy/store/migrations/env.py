"""Alembic environment: the connection comes from ``config.attributes`` (see store.migrate)."""

from __future__ import annotations

from alembic import context

from strangler_proxy.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through strangler_proxy.store.migrate.upgrade_to_head(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
