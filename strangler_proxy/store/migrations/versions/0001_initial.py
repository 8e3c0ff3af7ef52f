"""initial store: every table of schema.py

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Also makes audit_log append-only in the database itself: UPDATE and DELETE raise.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # long: a migration is history, applied as written to every store ever created: its table
    # definitions read top to bottom as Alembic generated them, and are never edited or rearranged.
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "actor",
            sa.String(length=150),
            nullable=False,
            comment="a username, 'guard', 'plan' or 'anonymous'",
        ),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False, comment="ok | denied | refused | error"),
        sa.Column("version_before", sa.Integer(), nullable=True),
        sa.Column("version_after", sa.Integer(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "dataplane_workers",
        sa.Column(
            "worker", sa.String(length=64), nullable=False, comment="host:pid of one data-plane worker"
        ),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column(
            "version_id", sa.Integer(), nullable=True, comment="the route-table version this worker serves"
        ),
        sa.Column("generation", sa.BigInteger(), nullable=True, comment="the pointer generation it applied"),
        sa.Column(
            "applied_at", sa.DateTime(timezone=True), nullable=True, comment="when it started serving it"
        ),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_dataplane_workers")),
    )
    op.create_table(
        "guard_rules",
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("route", name=op.f("pk_guard_rules")),
    )
    op.create_table(
        "route_stats",
        sa.Column("second", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=63), nullable=False, comment="rule name, or '-' for unmatched"),
        sa.Column("target", sa.String(length=16), nullable=False, comment="legacy | new"),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("status_2xx", sa.Integer(), nullable=False),
        sa.Column("status_3xx", sa.Integer(), nullable=False),
        sa.Column("status_4xx", sa.Integer(), nullable=False),
        sa.Column("status_5xx", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column(
            "latency_buckets", sa.JSON(), nullable=False, comment="counts per LATENCY_BUCKETS_MS bound"
        ),
        sa.UniqueConstraint("second", "worker", "route", "target", name="uq_route_stats_key"),
    )
    with op.batch_alter_table("route_stats", schema=None) as batch_op:
        batch_op.create_index("ix_route_stats_second", ["second"], unique=False)

    op.create_table(
        "route_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="the version number"),
        sa.Column("document", sa.Text(), nullable=False, comment="RouteTable JSON"),
        sa.Column("author", sa.String(length=150), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["route_versions.id"], name=op.f("fk_route_versions_parent_id_route_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_versions")),
    )
    op.create_table(
        "shadow_counts",
        sa.Column("second", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.UniqueConstraint("second", "worker", "route", name="uq_shadow_counts_key"),
    )
    op.create_table(
        "shadow_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("legacy_status", sa.Integer(), nullable=True),
        sa.Column("new_status", sa.Integer(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_samples")),
    )
    with op.batch_alter_table("shadow_samples", schema=None) as batch_op:
        batch_op.create_index("ix_shadow_samples_route_at", ["route", "at"], unique=False)

    op.create_table(
        "upstreams",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_upstreams")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False, comment="viewer | operator | admin"),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "active_route_table",
        sa.Column("id", sa.Integer(), nullable=False, comment="always 1: a single pointer row"),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False, comment="incremented on every swap"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "previous_version_id",
            sa.Integer(),
            nullable=True,
            comment="the version active before this swap: what a rollback returns to",
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["route_versions.id"],
            name=op.f("fk_active_route_table_previous_version_id_route_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["route_versions.id"],
            name=op.f("fk_active_route_table_version_id_route_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_active_route_table")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False, comment="sha256 of the token"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    _make_audit_log_append_only()


_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _make_audit_log_append_only() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("api_tokens")
    op.drop_table("active_route_table")
    op.drop_table("users")
    op.drop_table("upstreams")
    with op.batch_alter_table("shadow_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_shadow_samples_route_at")

    op.drop_table("shadow_samples")
    op.drop_table("shadow_counts")
    op.drop_table("route_versions")
    with op.batch_alter_table("route_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_route_stats_second")

    op.drop_table("route_stats")
    op.drop_table("guard_rules")
    op.drop_table("dataplane_workers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
