"""Every SQL statement a data-plane worker runs against the control plane's store, in one place.

Written with ``?`` placeholders (sqlite3's qmark style); :func:`for_dialect` gives psycopg's ``%s``
form. The tables are defined in :mod:`strangler_proxy.store.schema` (a unit test checks that the
columns named here exist there); the worker talks to the store through the DB-API driver directly so
that it does not carry SQLAlchemy.
"""

from __future__ import annotations

from typing import Literal

from strangler_proxy.store.pointer import POINTER_ID

__all__ = [
    "DELETE_STALE_WORKERS",
    "DELETE_WORKER",
    "INSERT_FAILING_REQUESTS",
    "INSERT_STATS",
    "INSERT_UNMATCHED_PATHS",
    "INSERT_WORKER",
    "SELECT_DOCUMENT",
    "SELECT_POINTER",
    "UPDATE_HEARTBEAT",
    "UPDATE_HEARTBEAT_APPLIED",
    "Dialect",
    "for_dialect",
    "statements",
]

Dialect = Literal["sqlite", "postgresql"]

SELECT_POINTER = (
    "SELECT version_id, generation, changed_at, previous_version_id FROM active_route_table "
    f"WHERE id = {POINTER_ID}"
)
SELECT_DOCUMENT = "SELECT document FROM route_versions WHERE id = ?"
INSERT_STATS = (
    "INSERT INTO route_stats (second, worker, route, target, requests, status_2xx, status_3xx, "
    "status_4xx, status_5xx, latency_sum_ms, latency_buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_UNMATCHED_PATHS = "INSERT INTO unmatched_paths (second, worker, path, requests) VALUES (?, ?, ?, ?)"
INSERT_FAILING_REQUESTS = (
    "INSERT INTO failing_requests (at_ms, worker, route, target, method, path, status, failure, upstream, "
    "version, request_id, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_HEARTBEAT = "UPDATE dataplane_workers SET pid = ?, heartbeat_at = ? WHERE worker = ?"
UPDATE_HEARTBEAT_APPLIED = (
    "UPDATE dataplane_workers SET pid = ?, heartbeat_at = ?, version_id = ?, generation = ?, "
    "applied_at = ? WHERE worker = ?"
)
INSERT_WORKER = (
    "INSERT INTO dataplane_workers (worker, pid, version_id, generation, applied_at, heartbeat_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
DELETE_WORKER = "DELETE FROM dataplane_workers WHERE worker = ?"
DELETE_STALE_WORKERS = "DELETE FROM dataplane_workers WHERE heartbeat_at < ?"


def for_dialect(sql: str, dialect: Dialect) -> str:
    """``sql`` with the placeholders of ``dialect``'s driver (no statement here has a literal ``?``)."""
    return sql if dialect == "sqlite" else sql.replace("?", "%s")


_STATEMENTS = tuple(name for name in __all__ if name.isupper())
"""The statements' names: every upper-case name this module exports."""


def statements(dialect: Dialect) -> dict[str, str]:
    """Every statement above by name, in ``dialect``'s placeholder style."""
    return {name: for_dialect(globals()[name], dialect) for name in _STATEMENTS}
