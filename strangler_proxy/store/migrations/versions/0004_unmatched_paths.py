"""the shapes of the paths no rule matched, counted by the data plane

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Additive: the ``unmatched_paths`` table (one row per worker, drain and path shape, with a count),
written by the data-plane workers and pruned with ``route_stats``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unmatched_paths",
        sa.Column("second", sa.BigInteger(), nullable=False, comment="when the worker drained its summary"),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False, comment="path shape: /orders/{int}/items"),
        sa.Column(
            "requests",
            sa.Integer(),
            nullable=False,
            comment="unmatched requests of that shape since the worker's previous row (a lower bound)",
        ),
    )
    with op.batch_alter_table("unmatched_paths", schema=None) as batch_op:
        batch_op.create_index("ix_unmatched_paths_second", ["second"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unmatched_paths", schema=None) as batch_op:
        batch_op.drop_index("ix_unmatched_paths_second")
    op.drop_table("unmatched_paths")
