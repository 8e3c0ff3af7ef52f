"""product field versions: each product's count of changes to its other fields, seeded at 1

The table is ``acl.sync.core.versions``'s ``sync_version`` (aggregate type ``product``), created when missing
as the sync processes would; every product already held starts at version 1, as the monolith's own
migration seeds its products, so the two sides count alike from the first change on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import delete, literal, select

from acl.catalog.sync.fields import PRODUCT_AGGREGATE
from acl.sync.core.versions import create_version_sync_tables, sync_version
from new_services.catalog.adapters.tables import products

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    create_version_sync_tables(connection)
    held = select(sync_version.c.aggregate_id).where(sync_version.c.aggregate_type == PRODUCT_AGGREGATE)
    seeds = select(
        literal(PRODUCT_AGGREGATE), products.c.id.cast(sync_version.c.aggregate_id.type), literal(1)
    ).where(products.c.id.cast(sync_version.c.aggregate_id.type).not_in(held))
    connection.execute(
        sync_version.insert().from_select(["aggregate_type", "aggregate_id", "version"], seeds)
    )


def downgrade() -> None:
    op.get_bind().execute(delete(sync_version).where(sync_version.c.aggregate_type == PRODUCT_AGGREGATE))
