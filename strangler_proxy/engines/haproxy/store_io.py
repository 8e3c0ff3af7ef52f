"""What the engine agent reads from and writes to the control plane's store (SQLAlchemy Core, in a thread).

It reads the active route table as a data-plane worker does (the pointer's generation, then the
document), and writes what a worker writes: its row in ``dataplane_workers`` (the version the engine
was verified to serve) and per-second ``route_stats`` rows for the guards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select, update

from strangler_proxy.engines.haproxy.request_log import RouteSecond
from strangler_proxy.routes import RouteTable
from strangler_proxy.store.pointer import POINTER_ID
from strangler_proxy.store.schema import active_route_table, dataplane_workers, route_stats, route_versions

__all__ = ["ActiveTable", "EngineStore"]


@dataclass(frozen=True, slots=True)
class ActiveTable:
    generation: int
    table: RouteTable
    """The document, with ``version`` set to the pointer's version id."""


_FALLBACK_POLL_S = 0.5
"""The longest a SQLite poll is skipped because the database's files look untouched."""


def _sqlite_files(engine: Engine) -> tuple[Path, ...]:
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        return ()
    path = Path(database)
    return (path, path.with_name(path.name + "-wal"))


class EngineStore:
    """One engine's reads and writes; every method is synchronous (run it in a thread)."""

    def __init__(self, engine: Engine, *, worker: str, pid: int) -> None:
        self._engine = engine
        self.worker = worker
        self.pid = pid
        self._files = _sqlite_files(engine)
        self._signature: tuple[tuple[int, int, int] | None, ...] | None = None
        self._polled_at = 0.0

    def _untouched(self) -> bool:
        """On SQLite, whether the files are as at the last poll (a stat, not a query), for at most
        ``_FALLBACK_POLL_S`` (file times are coarse)."""
        if not self._files:
            return False
        signature = tuple(_stat(path) for path in self._files)
        now = time.monotonic()
        if signature == self._signature and now - self._polled_at < _FALLBACK_POLL_S:
            return True
        self._signature, self._polled_at = signature, now
        return False

    def poll(self, known_generation: int | None) -> ActiveTable | None:
        """The active table when its generation differs from ``known_generation`` (None: nothing was
        published yet, or nothing changed)."""
        if known_generation is not None and self._untouched():
            return None
        pointer = select(active_route_table.c.version_id, active_route_table.c.generation).where(
            active_route_table.c.id == POINTER_ID
        )
        with self._engine.connect() as conn:
            row = conn.execute(pointer).first()
            if row is None or row.generation == known_generation:
                return None
            document: str = conn.execute(
                select(route_versions.c.document).where(route_versions.c.id == row.version_id)
            ).scalar_one()
        return ActiveTable(row.generation, RouteTable.from_json(document).with_version(row.version_id))

    def heartbeat(
        self, *, version_id: int | None, generation: int | None, applied_at: datetime | None
    ) -> None:
        """Upsert the engine's row; the version columns change only when ``applied_at`` is given."""
        now = datetime.now(UTC)
        values: dict[str, object] = {"pid": self.pid, "heartbeat_at": now}
        if applied_at is not None:
            values.update(version_id=version_id, generation=generation, applied_at=applied_at)
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(dataplane_workers).where(dataplane_workers.c.worker == self.worker).values(**values)
            ).rowcount
            if not changed:
                row = {"worker": self.worker, "version_id": version_id, "generation": generation}
                conn.execute(insert(dataplane_workers).values({**row, "applied_at": applied_at, **values}))

    def write_stats(self, rows: Sequence[tuple[int, str, str, RouteSecond]]) -> int:
        if not rows:
            return 0
        documents = [
            {
                "second": second,
                "worker": self.worker,
                "route": route,
                "target": target,
                "requests": counts.requests,
                "status_2xx": counts.by_class[2],
                "status_3xx": counts.by_class[3],
                "status_4xx": counts.by_class[4],
                "status_5xx": counts.by_class[5],
                "latency_sum_ms": counts.latency_sum_ms,
                "latency_buckets": list(counts.buckets),
            }
            for second, route, target, counts in rows
        ]
        with self._engine.begin() as conn:
            conn.execute(insert(route_stats), documents)
        return len(documents)

    def forget(self) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(dataplane_workers).where(dataplane_workers.c.worker == self.worker))


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)
