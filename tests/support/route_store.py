"""A store written directly, for the data plane's tests that run without a control plane: the schema,
and the control plane's one write (a version inserted and the active pointer moved). Outside the tests,
only the control plane writes route tables (tests/architecture enforces it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from strangler_proxy.routes import RouteTable
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import active_route_table, dataplane_workers, route_versions

__all__ = ["DirectStore"]


class DirectStore:
    """A SQLite store with the schema that a test writes as the control plane would."""

    def __init__(self, path: Path, *, author: str = "test", reason: str = "test") -> None:
        self.url = f"sqlite:///{path}"
        self._author, self._reason = author, reason
        self.engine: Engine = make_engine(self.url)
        metadata.create_all(self.engine)

    def publish(self, table: RouteTable) -> int:
        """Insert ``table`` as a new version and make it active, as the control plane does."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            version = conn.execute(
                insert(route_versions).values(
                    document=table.to_json(),
                    author=self._author,
                    reason=self._reason,
                    parent_id=None,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            row = conn.execute(
                select(active_route_table.c.generation).where(active_route_table.c.id == 1)
            ).first()
            if row is None:
                conn.execute(
                    insert(active_route_table).values(id=1, version_id=version, generation=1, changed_at=now)
                )
            else:
                conn.execute(
                    update(active_route_table)
                    .where(active_route_table.c.id == 1)
                    .values(version_id=version, generation=row.generation + 1, changed_at=now)
                )
        return int(version)

    def worker_pids(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(pid) for pid in conn.execute(select(dataplane_workers.c.pid)).scalars()}

    def close(self) -> None:
        self.engine.dispose()
