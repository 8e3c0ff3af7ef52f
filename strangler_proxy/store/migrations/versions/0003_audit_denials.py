"""refused requests aggregated per caller and minute

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Additive: the ``audit_denials`` table (one row per minute, actor, address, action, target and reason,
with a count), pruned by the control plane after its retention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_denials",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column(
            "minute", sa.DateTime(timezone=True), nullable=False, comment="the UTC minute the denials fell in"
        ),
        sa.Column(
            "actor", sa.String(length=150), nullable=False, comment="'anonymous' or the authenticated user"
        ),
        sa.Column(
            "address", sa.String(length=64), nullable=False, comment="the client address ('' when unknown)"
        ),
        sa.Column("action", sa.String(length=64), nullable=False, comment="auth | login"),
        sa.Column(
            "target",
            sa.String(length=255),
            nullable=False,
            comment="method and route template, or a truncated path",
        ),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_denials")),
        sa.UniqueConstraint(
            "minute", "actor", "address", "action", "target", "reason", name="uq_audit_denials_key"
        ),
    )
    with op.batch_alter_table("audit_denials", schema=None) as batch_op:
        batch_op.create_index("ix_audit_denials_minute", ["minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_denials", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_denials_minute")
    op.drop_table("audit_denials")
