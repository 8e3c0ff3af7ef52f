"""stock sync: the catalog's stock versions, the ids of applied events, the conflict queue

The tables are ``acl.sync.core.stock``'s, created only when missing (as the sync processes would).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from acl.sync.core.stock import create_stock_sync_tables, stock_sync_metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_stock_sync_tables(op.get_bind())


def downgrade() -> None:
    stock_sync_metadata.drop_all(op.get_bind(), checkfirst=True)
