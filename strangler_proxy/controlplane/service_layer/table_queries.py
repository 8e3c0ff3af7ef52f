"""Queries on the route tables: the active version, the history, diffs, and the candidate tables a
change would publish (pure: previews read them without writing anything).

In front of an engine (``front_door``), ``preview`` also lists what a candidate would newly ask of the
engine that it cannot serve (``strangler_proxy.routes.front_doors``).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Connection, Engine

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError, NotFound
from strangler_proxy.controlplane.repositories import upstreams, versions
from strangler_proxy.controlplane.repositories.versions import ActivePointer, VersionRecord
from strangler_proxy.controlplane.service_layer import derive
from strangler_proxy.controlplane.service_layer.diff import TableDiff, diff_tables
from strangler_proxy.routes import ActionMode, RouteTable, Rule, table_problems
from strangler_proxy.routes.front_doors import FrontDoor, front_door_problems

__all__ = ["RouteTableQueries", "active_in", "previous_of"]


def active_in(conn: Connection) -> tuple[ActivePointer, VersionRecord]:
    """The active pointer and the version it names (an error when the store has none yet)."""
    pointer = versions.active_pointer(conn)
    if pointer is None:
        raise ControlPlaneError(
            "the store has no active version yet; start the control plane to bootstrap it"
        )
    record = versions.get_version(conn, pointer.version_id)
    if record is None:
        raise ControlPlaneError(f"the active pointer names version {pointer.version_id}, which is missing")
    return pointer, record


def previous_of(conn: Connection, pointer: ActivePointer) -> VersionRecord:
    """The version a whole-table rollback returns to: the pointer's previous, else the active's parent."""
    previous_id = pointer.previous_version_id
    if previous_id is None:
        current = versions.get_version(conn, pointer.version_id)
        previous_id = current.parent_id if current else None
    previous = versions.get_version(conn, previous_id) if previous_id is not None else None
    if previous is None:
        raise BadRequest(f"version {pointer.version_id} has no previous version to return to")
    return previous


class RouteTableQueries:
    """Reads of the store's route tables; never writes."""

    def __init__(self, engine: Engine, *, front_door: FrontDoor = "dataplane") -> None:
        self._engine = engine
        self.front_door: FrontDoor = front_door

    def active(self) -> tuple[ActivePointer, VersionRecord]:
        with self._engine.connect() as conn:
            return active_in(conn)

    def active_table(self) -> RouteTable:
        return self.active()[1].table

    def active_table_and_version(self) -> tuple[RouteTable, int]:
        pointer, record = self.active()
        return record.table, pointer.version_id

    def version(self, version_id: int) -> VersionRecord:
        with self._engine.connect() as conn:
            record = versions.get_version(conn, version_id)
        if record is None:
            raise NotFound(f"version {version_id} does not exist")
        return record

    def history(self, *, limit: int = 50, before: int | None = None) -> list[VersionRecord]:
        with self._engine.connect() as conn:
            return versions.list_versions(conn, limit=limit, before=before)

    def diff(self, before: int, after: int) -> TableDiff:
        return diff_tables(self.version(before).table, self.version(after).table)

    def preview(self, candidate: RouteTable) -> tuple[TableDiff, list[str]]:
        """What publishing ``candidate`` would change, and every reason it would be refused."""
        with self._engine.connect() as conn:
            _, record = active_in(conn)
            problems = table_problems(candidate, upstreams.registry(conn))
        problems += self.front_door_problems(record.table, candidate)
        return diff_tables(record.table, candidate), problems

    def front_door_problems(self, active: RouteTable, candidate: RouteTable) -> list[str]:
        """What ``candidate`` would newly ask of the front door that it cannot serve."""
        known = set(front_door_problems(active, self.front_door))
        return [p for p in front_door_problems(candidate, self.front_door) if p not in known]

    # ---- candidates (pure, for previews) ------------------------------------------------------------

    def flip_candidate(
        self,
        route: str,
        *,
        mode: ActionMode,
        weight: int | None = None,
        upstream: str | None = None,
        mirror_unsafe_methods: bool | None = None,
    ) -> RouteTable:
        with self._engine.connect() as conn:
            _, record = active_in(conn)
            registry = upstreams.registry(conn)
        return derive.flip_route(
            record.table,
            registry,
            route,
            mode=mode,
            weight=weight,
            upstream=upstream,
            mirror_unsafe_methods=mirror_unsafe_methods,
        )

    def add_route_candidate(self, rule: Rule, *, position: int | None = None) -> RouteTable:
        with self._engine.connect() as conn:
            _, record = active_in(conn)
            registry = upstreams.registry(conn)
        return derive.insert_route(record.table, registry, rule, position=position)

    def rollback_candidate(self, route: str, *, to: Literal["previous", "legacy"]) -> RouteTable:
        with self._engine.connect() as conn:
            pointer, record = active_in(conn)
            if to == "legacy":
                return derive.route_to_legacy(record.table, route)
            previous = previous_of(conn, pointer)
        return derive.route_from(record.table, previous.table, route)

    def panic_candidate(self) -> RouteTable:
        """Every route of the active table to legacy."""
        return derive.all_to_legacy(self.active_table())

    def previous_table(self) -> RouteTable:
        """The table a whole-table rollback would return to (BadRequest when there is none)."""
        with self._engine.connect() as conn:
            pointer, _record = active_in(conn)
            return previous_of(conn, pointer).table

    def version_before(self, pointer: ActivePointer) -> VersionRecord:
        """The version a whole-table rollback from ``pointer`` returns to (BadRequest when none)."""
        with self._engine.connect() as conn:
            return previous_of(conn, pointer)
