"""What a worker writes to the control plane's store: per-second route stats and its own heartbeat row.

Synchronous SQLAlchemy calls, run in a thread by the background tasks, never on the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, update

from strangler_proxy.dataplane.stats import SecondRow
from strangler_proxy.store.schema import dataplane_workers, route_stats

__all__ = ["StoreWriter"]


class StoreWriter:
    def __init__(self, engine: Engine, *, worker: str, pid: int) -> None:
        self._engine = engine
        self.worker = worker
        self.pid = pid

    def write_stats(self, rows: Sequence[SecondRow]) -> int:
        if not rows:
            return 0
        values = [
            {
                "second": row.second,
                "worker": self.worker,
                "route": row.route,
                "target": row.target,
                "requests": row.accumulator.requests,
                "status_2xx": row.accumulator.by_class[2],
                "status_3xx": row.accumulator.by_class[3],
                "status_4xx": row.accumulator.by_class[4],
                "status_5xx": row.accumulator.by_class[5],
                "latency_sum_ms": row.accumulator.latency_sum_ms,
                "latency_buckets": list(row.accumulator.buckets),
            }
            for row in rows
        ]
        with self._engine.begin() as conn:
            conn.execute(insert(route_stats), values)
        return len(values)

    def heartbeat(
        self, *, version_id: int | None, generation: int | None, applied_at: datetime | None
    ) -> None:
        """Upsert this worker's row; ``applied_at`` is only written when given (a version was applied)."""
        now = datetime.now(UTC)
        values: dict[str, object] = {"pid": self.pid, "heartbeat_at": now}
        if applied_at is not None:
            values.update(version_id=version_id, generation=generation, applied_at=applied_at)
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(dataplane_workers).where(dataplane_workers.c.worker == self.worker).values(**values)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(dataplane_workers).values(
                        worker=self.worker,
                        pid=self.pid,
                        version_id=version_id,
                        generation=generation,
                        applied_at=applied_at,
                        heartbeat_at=now,
                    )
                )

    def forget(self) -> None:
        """Remove this worker's row at a clean shutdown."""
        with self._engine.begin() as conn:
            conn.execute(dataplane_workers.delete().where(dataplane_workers.c.worker == self.worker))
