"""the recent failing requests of each route, kept by the data plane

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Additive: the ``failing_requests`` table (one row per 5xx answered to a client, at most
``STRANGLER_FAILING_REQUESTS_PER_ROUTE`` per route, worker and write), written by the data-plane workers
and pruned with ``route_stats``; each row names the request's trace id, so the admin UI links it to its
trace.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failing_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "at_ms", sa.BigInteger(), nullable=False, comment="when the worker answered it, Unix milliseconds"
        ),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=63), nullable=False, comment="rule name, or '-' for unmatched"),
        sa.Column(
            "target", sa.String(length=16), nullable=False, comment="legacy | new: the side that answered"
        ),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column(
            "path",
            sa.String(length=512),
            nullable=False,
            comment="path shape, no query string: /orders/{int}",
        ),
        sa.Column("status", sa.Integer(), nullable=False, comment="the 5xx answered to the client"),
        sa.Column(
            "failure",
            sa.String(length=64),
            nullable=False,
            comment="upstream_status, or the proxy's error code",
        ),
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, comment="the route table version that served it"),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column(
            "trace_id", sa.String(length=32), nullable=True, comment="the request's W3C trace id (hex)"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failing_requests")),
    )
    with op.batch_alter_table("failing_requests", schema=None) as batch_op:
        batch_op.create_index("ix_failing_requests_at_ms", ["at_ms"], unique=False)
        batch_op.create_index("ix_failing_requests_route_at_ms", ["route", "at_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("failing_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_failing_requests_route_at_ms")
        batch_op.drop_index("ix_failing_requests_at_ms")
    op.drop_table("failing_requests")
