"""server-side sessions, a generation per user, token scopes and expiry

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Additive: a ``sessions`` table; ``users.generation``; ``api_tokens.scope``, ``.expires_at`` and
``.generation``. Tokens issued before this revision keep working until 90 days after this upgrade,
with their user's role (scope ``admin`` means "as much as the user's role allows").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EXISTING_TOKENS_LIVE = timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "generation",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="bumped on a password, role or enabled change: ends its sessions and tokens",
            )
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scope",
                sa.String(length=20),
                server_default="admin",
                nullable=False,
                comment="viewer | operator | admin: the most it may do, never more than its user",
            )
        )
        batch_op.add_column(
            sa.Column(
                "expires_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="null only for rows older than expiry",
            )
        )
        batch_op.add_column(
            sa.Column(
                "generation", sa.Integer(), server_default="0", nullable=False, comment="its user's, at issue"
            )
        )
    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(tokens.update().values(expires_at=datetime.now(UTC) + EXISTING_TOKENS_LIVE))
    op.create_table(
        "sessions",
        sa.Column(
            "id_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the session cookie's random id",
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "generation", sa.Integer(), nullable=False, comment="its user's generation when it was opened"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "address", sa.String(length=64), nullable=True, comment="the client address it was opened from"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")
        batch_op.drop_index("ix_sessions_expires_at")
    op.drop_table("sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("generation")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("generation")
