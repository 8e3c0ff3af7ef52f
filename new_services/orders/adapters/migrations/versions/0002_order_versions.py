"""Order versions and the conflict queue of change-based order sync (``sync_version``, ``sync_conflict``:
the shapes ``acl.sync.core.versions`` and ``acl.sync.core.stock`` define); a database that already has a
table of that name (shared with another schema) keeps it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sync_version" not in existing:
        op.create_table(
            "sync_version",
            sa.Column("aggregate_type", sa.String(length=30), nullable=False),
            sa.Column("aggregate_id", sa.String(length=40), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("aggregate_type", "aggregate_id"),
        )
    if "sync_conflict" not in existing:
        op.create_table(
            "sync_conflict",
            sa.Column(
                "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
            ),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("origin", sa.String(length=40), nullable=False),
            sa.Column("aggregate_type", sa.String(length=30), nullable=False),
            sa.Column("aggregate_id", sa.String(length=40), nullable=False),
            sa.Column("field", sa.String(length=40), nullable=False),
            sa.Column("ours", sa.Text(), nullable=False),
            sa.Column("theirs", sa.Text(), nullable=False),
            sa.Column("expected_version", sa.Integer(), nullable=False),
            sa.Column("found_version", sa.Integer(), nullable=False),
            sa.Column("detected_at", sa.DateTime(), nullable=False),
            sa.Column("resolved_at", sa.DateTime(), nullable=True),
            sa.Column("resolution", sa.String(length=20), nullable=True),
            sa.Column("resolved_by", sa.String(length=150), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("event_id"),
        )


def downgrade() -> None:
    op.drop_table("sync_conflict")
    op.drop_table("sync_version")
