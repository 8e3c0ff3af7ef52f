"""A data-plane worker's connection to the control plane's store, through the DB-API driver directly
(``sqlite3`` for ``sqlite:///`` URLs, ``psycopg`` for PostgreSQL).

One connection, used by one call at a time (calls run in worker threads, off the event loop); a call
that fails drops the connection and the next call opens a new one. Values are written the way the
control plane's SQLAlchemy tables read them back: on SQLite, times as naive UTC ISO text and JSON as
text; on PostgreSQL, aware datetimes and JSON text.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from strangler_proxy.dataplane import store_sql as sql
from strangler_proxy.dataplane.failing_requests import FailingRequest
from strangler_proxy.dataplane.notify import postgres_conninfo
from strangler_proxy.dataplane.stats import SecondRow
from strangler_proxy.routes import RouteTable
from strangler_proxy.store.pointer import ActivePointer

__all__ = [
    "FoundTable",
    "NoSuchVersion",
    "StoreClient",
    "dialect_of",
    "failure_values",
    "path_values",
    "stat_values",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class NoSuchVersion(LookupError):
    """The pointer names a version whose row does not exist."""


@dataclass(frozen=True, slots=True)
class FoundTable:
    pointer: ActivePointer
    table: RouteTable
    """The document, with ``version`` set to the pointer's version id."""


def _close_broken(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:
        logger.warning("closing a failed store connection failed too: %s", exc)


def _file_signature(path: str) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def dialect_of(url: str) -> sql.Dialect:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ValueError(f"unsupported store URL scheme {scheme!r} (sqlite:/// or postgresql://)")


def _sqlite_path(url: str) -> str:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return path.split("?", 1)[0] or ":memory:"


def stat_values(worker: str, rows: Sequence[SecondRow]) -> list[tuple[Any, ...]]:
    """``route_stats`` rows of ``worker`` in the order of the insert statement (JSON-serialisable)."""
    return [
        (
            row.second,
            worker,
            row.route,
            row.target,
            row.accumulator.requests,
            row.accumulator.by_class[2],
            row.accumulator.by_class[3],
            row.accumulator.by_class[4],
            row.accumulator.by_class[5],
            row.accumulator.latency_sum_ms,
            json.dumps(row.accumulator.buckets),
        )
        for row in rows
    ]


def path_values(worker: str, second: int, shapes: Sequence[tuple[str, int]]) -> list[tuple[Any, ...]]:
    """``unmatched_paths`` rows of ``worker`` in the order of the insert statement (JSON-serialisable)."""
    return [(second, worker, shape, requests) for shape, requests in shapes]


def failure_values(worker: str, failures: Sequence[FailingRequest]) -> list[tuple[Any, ...]]:
    """``failing_requests`` rows of ``worker`` in the order of the insert statement (JSON-serialisable)."""
    return [
        (
            round(f.at * 1000),
            worker,
            f.route,
            f.target,
            f.method,
            f.path,
            f.status,
            f.failure,
            f.upstream,
            f.version,
            f.request_id,
            f.trace_id,
        )
        for f in failures
    ]


class StoreClient:
    """Thread-safe (one call at a time); ``close`` when the worker stops."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect: sql.Dialect = dialect_of(url)
        self._lock = threading.Lock()
        self._conn: Any = None
        self._sql = sql.statements(self.dialect)
        self._files = self._watched_files()
        self._last_look: tuple[tuple[int, int, int] | None, ...] | None = None

    # --- connection ---------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            conn = sqlite3.connect(_sqlite_path(self.url), timeout=30, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg  # PostgreSQL stores only

        return psycopg.connect(postgres_conninfo(self.url), connect_timeout=10)

    def _run(self, work: Callable[[Any], T]) -> T:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                cursor = conn.cursor()
                try:
                    result = work(cursor)
                finally:
                    cursor.close()
                conn.commit()
                return result
            except Exception:
                self._conn = None
                self._last_look = None  # the next look reports a change: poll again
                _close_broken(conn)
                raise

    def _watched_files(self) -> tuple[str, ...]:
        if self.dialect != "sqlite":
            return ()
        path = _sqlite_path(self.url)
        return () if path == ":memory:" else (path, f"{path}-wal")

    def may_have_changed(self) -> bool:
        """False only when the store is a SQLite file whose database and WAL files are exactly as at the
        previous call (every commit touches one of them): the poll can be skipped. A few
        microseconds, fine on the event loop. Always True for PostgreSQL."""
        if not self._files:
            return True
        look = tuple(_file_signature(path) for path in self._files)
        if look == self._last_look:
            return False
        self._last_look = look
        return True

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _time(self, value: datetime | None) -> object:
        if value is None or self.dialect != "sqlite":
            return value
        return value.astimezone(UTC).replace(tzinfo=None).strftime(_SQLITE_TIME)

    # --- the route table ----------------------------------------------------------------------
    def pointer(self) -> ActivePointer | None:
        def read(cursor: Any) -> ActivePointer | None:
            cursor.execute(self._sql["SELECT_POINTER"])
            row = cursor.fetchone()
            if row is None:
                return None
            version_id, generation, changed_at, previous = row
            if isinstance(changed_at, str):  # SQLite: the naive UTC text SQLAlchemy wrote (and reads back)
                changed_at = datetime.fromisoformat(changed_at)
            return ActivePointer(
                int(version_id), int(generation), changed_at, None if previous is None else int(previous)
            )

        return self._run(read)

    def load(self, version_id: int) -> RouteTable:
        def read(cursor: Any) -> Any:
            cursor.execute(self._sql["SELECT_DOCUMENT"], (version_id,))
            return cursor.fetchone()

        row = self._run(read)
        if row is None:
            raise NoSuchVersion(f"route version {version_id} does not exist")
        return RouteTable.from_json(row[0]).with_version(version_id)

    def poll(self, known_generation: int | None) -> FoundTable | None:
        """The active table when its generation differs from ``known_generation``, else None."""
        pointer = self.pointer()
        if pointer is None or pointer.generation == known_generation:
            return None
        return FoundTable(pointer, self.load(pointer.version_id))

    # --- what the worker writes ---------------------------------------------------------------
    def write_stats(self, worker: str, rows: Sequence[SecondRow]) -> int:
        return self.write_stat_values(stat_values(worker, rows))

    def write_stat_values(self, values: Sequence[Sequence[Any]]) -> int:
        """Insert ``route_stats`` rows already in the statement's order (:func:`stat_values`)."""
        if not values:
            return 0
        rows = [tuple(v) for v in values]
        self._run(lambda cursor: cursor.executemany(self._sql["INSERT_STATS"], rows))
        return len(rows)

    def write_unmatched_paths(self, worker: str, second: int, shapes: Sequence[tuple[str, int]]) -> int:
        return self.write_path_values(path_values(worker, second, shapes))

    def write_path_values(self, values: Sequence[Sequence[Any]]) -> int:
        """Insert ``unmatched_paths`` rows already in the statement's order (:func:`path_values`)."""
        if not values:
            return 0
        rows = [tuple(v) for v in values]
        self._run(lambda cursor: cursor.executemany(self._sql["INSERT_UNMATCHED_PATHS"], rows))
        return len(rows)

    def write_failing_requests(self, worker: str, failures: Sequence[FailingRequest]) -> int:
        return self.write_failure_values(failure_values(worker, failures))

    def write_failure_values(self, values: Sequence[Sequence[Any]]) -> int:
        """Insert ``failing_requests`` rows already in the statement's order (:func:`failure_values`)."""
        if not values:
            return 0
        rows = [tuple(v) for v in values]
        self._run(lambda cursor: cursor.executemany(self._sql["INSERT_FAILING_REQUESTS"], rows))
        return len(rows)

    def heartbeat(
        self,
        worker: str,
        pid: int,
        *,
        version_id: int | None,
        generation: int | None,
        applied_at: datetime | None,
    ) -> None:
        """Upsert the worker's row; the applied version is only written when ``applied_at`` is given."""
        now = self._time(datetime.now(UTC))
        applied = self._time(applied_at)

        def upsert(cursor: Any) -> None:
            if applied_at is None:
                cursor.execute(self._sql["UPDATE_HEARTBEAT"], (pid, now, worker))
            else:
                cursor.execute(
                    self._sql["UPDATE_HEARTBEAT_APPLIED"], (pid, now, version_id, generation, applied, worker)
                )
            if cursor.rowcount == 0:
                cursor.execute(
                    self._sql["INSERT_WORKER"],
                    (worker, pid, version_id, generation, applied, now),
                )

        self._run(upsert)

    def forget(self, worker: str) -> None:
        self._run(lambda cursor: cursor.execute(self._sql["DELETE_WORKER"], (worker,)))

    def prune(self, older_than: datetime) -> int:
        """Delete the rows of workers whose last heartbeat is older than ``older_than`` (workers that
        died without a clean shutdown); how many were deleted."""
        cutoff = self._time(older_than)

        def delete(cursor: Any) -> int:
            cursor.execute(self._sql["DELETE_STALE_WORKERS"], (cutoff,))
            return int(cursor.rowcount or 0)

        return self._run(delete)
