"""Reading the active route-table version: a cheap poll of the pointer's generation, then the document.

The control plane swaps ``active_route_table`` (one row, id 1) by compare-and-swap and bumps its
``generation`` on every swap, rollbacks included. A reader remembers the generation it applied and
loads the referenced document only when the generation changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from strangler_proxy.routes import RouteTable
from strangler_proxy.store.schema import active_route_table, route_versions

__all__ = ["ActivePointer", "ActiveTable", "ActiveVersionReader", "NoSuchVersion"]


class NoSuchVersion(LookupError):
    """The pointer names a version whose row does not exist."""


@dataclass(frozen=True, slots=True)
class ActivePointer:
    version_id: int
    generation: int
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveTable:
    pointer: ActivePointer
    table: RouteTable
    """The document, with ``version`` set to the pointer's version id."""


class ActiveVersionReader:
    """Synchronous reads (run them in a thread from async code); safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pointer(self) -> ActivePointer | None:
        """The active pointer, or None when nothing was ever published."""
        query = select(
            active_route_table.c.version_id, active_route_table.c.generation, active_route_table.c.changed_at
        ).where(active_route_table.c.id == 1)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else ActivePointer(row.version_id, row.generation, row.changed_at)

    def load(self, version_id: int) -> RouteTable:
        query = select(route_versions.c.document).where(route_versions.c.id == version_id)
        with self._engine.connect() as conn:
            document = conn.execute(query).scalar_one_or_none()
        if document is None:
            raise NoSuchVersion(f"route version {version_id} does not exist")
        return RouteTable.from_json(document).with_version(version_id)

    def poll(self, known_generation: int | None) -> ActiveTable | None:
        """The active table when its generation differs from ``known_generation``, else None."""
        pointer = self.pointer()
        if pointer is None or pointer.generation == known_generation:
            return None
        return ActiveTable(pointer, self.load(pointer.version_id))
