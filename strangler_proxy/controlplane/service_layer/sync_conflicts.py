"""The conflict queue across the sides: list every side's parked changes, resolve one.

The sides are the databases named by ``STRANGLER_SYNC_OUTBOXES`` (``legacy`` and each service). A
resolution records the operator's choice (``ours``: the side keeps its value; ``theirs``: the parked
change's value is the right one) with who and when, audited. With a resolver (``STRANGLER_SYNC_RESOLVER``,
``package.module:function`` loaded by name, e.g. the ACL's ``acl.catalog.sync.resolve:create_resolver``) the
chosen values of a conflict it writes (a product's fields or stock) are first written to both sides, so they
converge; the other open conflicts of the same aggregate and field whose values it wrote, on any side
(the two halves of one crossing), are then resolved with it as ``superseded``. Without one, or for a
conflict it does not write (an order's status), the value is written through the owning side's own API.

A writer's resolution is a compare-and-set: when a side changed since the conflict was parked or since
the writer read it (its error says ``stale``), nothing newer is overwritten and the API answers 409
``resolution_stale`` (look at the conflict again); any other failure to write is 502
``resolution_not_written``. Either way the conflict stays open and resolving again is safe.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError, NotFound
from strangler_proxy.controlplane.repositories.sync_conflicts import (
    read_conflicts,
    resolve_conflict,
    supersede_conflicts,
)

__all__ = [
    "ConflictWriter",
    "Resolution",
    "ResolutionNotWritten",
    "ResolutionStale",
    "SyncConflictService",
    "load_writer",
]

Resolution = Literal["ours", "theirs"]


class ConflictWriter(Protocol):
    """Writes a resolution's chosen values to the sides (the ACL's resolver implements it)."""

    def writes(self, conflict: dict[str, Any]) -> bool: ...

    def write(self, conflict: dict[str, Any], keep: str) -> dict[str, Any]: ...


class ResolutionNotWritten(ControlPlaneError):
    """A side did not take the chosen values; the conflict stays open and resolving again is safe."""

    status_code = 502
    code = "resolution_not_written"


class ResolutionStale(ControlPlaneError):
    """A side changed since the conflict was parked or read: nothing was overwritten, the conflict stays
    open; look at it again before resolving."""

    status_code = 409
    code = "resolution_stale"


def load_writer(reference: str | None) -> ConflictWriter | None:
    """The writer built by ``package.module:function`` (None without a reference)."""
    if not reference:
        return None
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a resolver is written 'package.module:function', got {reference!r}")
    factory = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(factory):
        raise ValueError(f"{reference} is not a callable")
    writer: ConflictWriter = factory()
    return writer


class SyncConflictService:
    def __init__(self, sides: Mapping[str, str], *, writer: ConflictWriter | None = None) -> None:
        self._sides = dict(sides)
        self._writer = writer
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
        row = self._open_conflict(engine, side, conflict_id)
        written: dict[str, Any] | None = None
        if self._writer is not None and self._writer.writes(row):
            try:
                written = self._writer.write(row, resolution)
            except Exception as exc:  # the writer says which side; nothing is marked resolved
                if getattr(exc, "stale", False) is True:
                    raise ResolutionStale(f"conflict {side}/{conflict_id} not resolved: {exc}") from exc
                raise ResolutionNotWritten(f"conflict {side}/{conflict_id} not resolved: {exc}") from exc
        at = datetime.now(UTC).replace(tzinfo=None)
        if not resolve_conflict(engine, conflict_id, resolution=resolution, by=by, at=at):
            raise NotFound(f"no open conflict {conflict_id} on side {side!r}")
        superseded: list[str] = []
        if written is not None:
            for other in sorted(self._sides):
                covered = set(written.get("values", {}))
                ids = supersede_conflicts(self._engine(other), row, covered=covered, by=by, at=at)
                superseded += [f"{other}/{i}" for i in ids]
        found = [
            found_row
            for found_row in read_conflicts(engine, side, open_only=False)
            if found_row.values["id"] == conflict_id
        ]
        result = found[0].to_dict() if found else {"side": side, "id": conflict_id, "resolution": resolution}
        if written is not None:
            result["written"] = written
            result["superseded"] = superseded
        return result

    def _open_conflict(self, engine: Engine, side: str, conflict_id: int) -> dict[str, Any]:
        for row in read_conflicts(engine, side, open_only=True, limit=10_000):
            if row.values["id"] == conflict_id:
                return dict(row.values)
        raise NotFound(f"no open conflict {conflict_id} on side {side!r}")
