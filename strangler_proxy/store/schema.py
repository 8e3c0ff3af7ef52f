"""The store's tables, shared by the control plane (the only writer of route tables) and the data
plane (reads the active version, writes rolling stats and shadow results).

SQLAlchemy Core tables on one ``MetaData``; Alembic migrations under ``strangler_proxy/store/migrations``
are generated from it. Times are UTC; ``second`` columns are whole Unix seconds.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS  # the bounds of route_stats.latency_buckets

__all__ = [
    "LATENCY_BUCKETS_MS",
    "active_route_table",
    "api_tokens",
    "audit_denials",
    "audit_log",
    "dataplane_workers",
    "failing_requests",
    "guard_rules",
    "metadata",
    "route_stats",
    "route_versions",
    "sessions",
    "shadow_counts",
    "shadow_samples",
    "unmatched_paths",
    "upstreams",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

route_versions = Table(
    "route_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="the version number"),
    Column("document", Text, nullable=False, comment="RouteTable JSON"),
    Column("author", String(150), nullable=False),
    Column("reason", Text, nullable=False),
    Column("parent_id", Integer, ForeignKey("route_versions.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

active_route_table = Table(
    "active_route_table",
    metadata,
    Column("id", Integer, primary_key=True, comment="always 1: a single pointer row"),
    Column("version_id", Integer, ForeignKey("route_versions.id"), nullable=False),
    Column("generation", BigInteger, nullable=False, comment="incremented on every swap"),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column(
        "previous_version_id",
        Integer,
        ForeignKey("route_versions.id"),
        nullable=True,
        comment="the version active before this swap: what a rollback returns to",
    ),
)

upstreams = Table(
    "upstreams",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("url", String(255), nullable=False),
    Column("settings", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False, comment="viewer | operator | admin"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column(
        "generation",
        Integer,
        nullable=False,
        default=0,
        server_default="0",
        comment="bumped on a password, role or enabled change: ends its sessions and tokens",
    ),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True, comment="sha256 of the token"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column(
        "scope",
        String(20),
        nullable=False,
        default="admin",
        server_default="admin",
        comment="viewer | operator | admin: the most it may do, never more than its user",
    ),
    Column(
        "expires_at", DateTime(timezone=True), nullable=True, comment="null only for rows older than expiry"
    ),
    Column(
        "generation", Integer, nullable=False, default=0, server_default="0", comment="its user's, at issue"
    ),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True, comment="sha256 of the session cookie's random id"),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("generation", Integer, nullable=False, comment="its user's generation when it was opened"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("address", String(64), nullable=True, comment="the client address it was opened from"),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(150), nullable=False, comment="a username, 'guard', 'plan' or 'anonymous'"),
    Column("address", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=True),
    Column("outcome", String(16), nullable=False, comment="ok | denied | refused | error"),
    Column("version_before", Integer, nullable=True),
    Column("version_after", Integer, nullable=True),
    Column("diff", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("evidence", JSON, nullable=True),
    Index("ix_audit_log_at", "at"),
)

audit_denials = Table(
    "audit_denials",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("minute", DateTime(timezone=True), nullable=False, comment="the UTC minute the denials fell in"),
    Column("actor", String(150), nullable=False, comment="'anonymous' or the authenticated user"),
    Column("address", String(64), nullable=False, comment="the client address ('' when unknown)"),
    Column("action", String(64), nullable=False, comment="auth | login"),
    Column("target", String(255), nullable=False, comment="method and route template, or a truncated path"),
    Column("reason", String(255), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("minute", "actor", "address", "action", "target", "reason", name="uq_audit_denials_key"),
    Index("ix_audit_denials_minute", "minute"),
)
"""Refused requests (401, 403, failed logins), one row per caller, target, reason and minute with a
count: what the outside can make the control plane record is bounded, and pruned after
``STRANGLER_AUDIT_DENIAL_RETENTION_S``. The append-only ``audit_log`` keeps what users did."""

dataplane_workers = Table(
    "dataplane_workers",
    metadata,
    Column("worker", String(64), primary_key=True, comment="host:pid of one data-plane worker"),
    Column("pid", Integer, nullable=False),
    Column("version_id", Integer, nullable=True, comment="the route-table version this worker serves"),
    Column("generation", BigInteger, nullable=True, comment="the pointer generation it applied"),
    Column("applied_at", DateTime(timezone=True), nullable=True, comment="when it started serving it"),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

guard_rules = Table(
    "guard_rules",
    metadata,
    Column("route", String(63), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

route_stats = Table(
    "route_stats",
    metadata,
    Column("second", BigInteger, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("route", String(63), nullable=False, comment="rule name, or '-' for unmatched"),
    Column("target", String(16), nullable=False, comment="legacy | new"),
    Column("requests", Integer, nullable=False),
    Column("status_2xx", Integer, nullable=False, default=0),
    Column("status_3xx", Integer, nullable=False, default=0),
    Column("status_4xx", Integer, nullable=False, default=0),
    Column("status_5xx", Integer, nullable=False, default=0),
    Column("latency_sum_ms", Float, nullable=False, default=0.0),
    Column("latency_buckets", JSON, nullable=False, comment="counts per LATENCY_BUCKETS_MS bound"),
    UniqueConstraint("second", "worker", "route", "target", name="uq_route_stats_key"),
    Index("ix_route_stats_second", "second"),
)

unmatched_paths = Table(
    "unmatched_paths",
    metadata,
    Column("second", BigInteger, nullable=False, comment="when the worker drained its summary"),
    Column("worker", String(64), nullable=False),
    Column("path", String(512), nullable=False, comment="path shape: /orders/{int}/items"),
    Column(
        "requests",
        Integer,
        nullable=False,
        comment="unmatched requests of that shape since the worker's previous row (a lower bound)",
    ),
    Index("ix_unmatched_paths_second", "second"),
)

failing_requests = Table(
    "failing_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False, comment="when the worker answered it, Unix milliseconds"),
    Column("worker", String(64), nullable=False),
    Column("route", String(63), nullable=False, comment="rule name, or '-' for unmatched"),
    Column("target", String(16), nullable=False, comment="legacy | new: the side that answered"),
    Column("method", String(16), nullable=False),
    Column("path", String(512), nullable=False, comment="path shape, no query string: /orders/{int}"),
    Column("status", Integer, nullable=False, comment="the 5xx answered to the client"),
    Column("failure", String(64), nullable=False, comment="upstream_status, or the proxy's error code"),
    Column("upstream", String(64), nullable=False),
    Column("version", Integer, nullable=False, comment="the route table version that served it"),
    Column("request_id", String(64), nullable=False),
    Column("trace_id", String(32), nullable=True, comment="the request's W3C trace id (hex)"),
    Index("ix_failing_requests_route_at_ms", "route", "at_ms"),
    Index("ix_failing_requests_at_ms", "at_ms"),
)

shadow_counts = Table(
    "shadow_counts",
    metadata,
    Column("second", BigInteger, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("route", String(63), nullable=False),
    Column("matches", Integer, nullable=False, default=0),
    Column("mismatches", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    UniqueConstraint("second", "worker", "route", name="uq_shadow_counts_key"),
)

shadow_samples = Table(
    "shadow_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("route", String(63), nullable=False),
    Column("version", Integer, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("trace_id", String(32), nullable=True),  # the primary request's W3C trace id (hex)
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("legacy_status", Integer, nullable=True),
    Column("new_status", Integer, nullable=True),
    Column("diff", Text, nullable=False),
    Index("ix_shadow_samples_route_at", "route", "at"),
)
