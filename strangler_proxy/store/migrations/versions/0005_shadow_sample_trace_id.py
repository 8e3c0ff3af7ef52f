"""the trace id of each kept shadow mismatch

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Additive: ``shadow_samples.trace_id`` (nullable; the 32 hex digits of the primary request's W3C trace
id, which the shadow process reads from the traceparent the worker sent upstream), so the admin UI
links a mismatch to its trace by trace id. Rows kept before it have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shadow_samples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shadow_samples", schema=None) as batch_op:
        batch_op.drop_column("trace_id")
