"""The conflict queue across the sides: list every side's parked changes, resolve one.

The sides are the databases named by ``STRANGLER_SYNC_OUTBOXES`` (``legacy`` and each service). A
resolution records the operator's choice (``ours``: the side keeps its value; ``theirs``: the parked
change's value is the right one) with who and when, audited; the value itself is then written through
the owning side's own API (a stock level set there travels to the other side as usual).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from strangler_proxy.controlplane.errors import BadRequest, NotFound
from strangler_proxy.controlplane.repositories.sync_conflicts import read_conflicts, resolve_conflict

__all__ = ["Resolution", "SyncConflictService"]

Resolution = Literal["ours", "theirs"]


class SyncConflictService:
    def __init__(self, sides: Mapping[str, str]) -> None:
        self._sides = dict(sides)
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def _engine(self, side: str) -> Engine:
        url = self._sides.get(side)
        if url is None:
            raise NotFound(f"no database is named for side {side!r} (STRANGLER_SYNC_OUTBOXES)")
        with self._lock:
            if side not in self._engines:
                self._engines[side] = create_engine(url, pool_pre_ping=True)
            return self._engines[side]

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def overview(self, *, open_only: bool = True) -> dict[str, Any]:
        """``{"conflicts": [...], "open": n, "unreadable": {side: error}}`` over every named side."""
        conflicts: list[dict[str, Any]] = []
        unreadable: dict[str, str] = {}
        for side in sorted(self._sides):
            try:
                rows = read_conflicts(self._engine(side), side, open_only=open_only)
            except SQLAlchemyError as exc:
                unreadable[side] = exc.__class__.__name__
                continue
            conflicts += [row.to_dict() for row in rows]
        return {
            "conflicts": conflicts,
            "open": sum(1 for c in conflicts if c.get("resolved_at") is None),
            "unreadable": unreadable,
        }

    def resolve(self, side: str, conflict_id: int, *, resolution: str, by: str) -> dict[str, Any]:
        if resolution not in ("ours", "theirs"):
            raise BadRequest("resolution must be 'ours' or 'theirs'")
        engine = self._engine(side)
        at = datetime.now(UTC).replace(tzinfo=None)
        if not resolve_conflict(engine, conflict_id, resolution=resolution, by=by, at=at):
            raise NotFound(f"no open conflict {conflict_id} on side {side!r}")
        found = [
            row for row in read_conflicts(engine, side, open_only=False) if row.values["id"] == conflict_id
        ]
        return found[0].to_dict() if found else {"side": side, "id": conflict_id, "resolution": resolution}
