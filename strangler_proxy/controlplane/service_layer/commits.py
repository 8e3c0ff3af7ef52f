"""The one write of a route table: store a version (or name an existing one), swap the active pointer by
compare-and-swap on the expected version, append the audit row and notify, all in one transaction.

A stale change (the expected version is no longer active) raises StaleVersion and changes nothing; a
refused table raises Refused and the active table keeps serving. Every refusal is audited too.
Rollbacks and panics are never refused over a feature the front door cannot serve: an emergency is
not refused over a feature, and the engine serves what it can, saying so in its log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, text

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError, NotFound, Refused, StaleVersion
from strangler_proxy.controlplane.repositories import audit, upstreams, versions
from strangler_proxy.controlplane.repositories.versions import ActivePointer, VersionRecord
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.controlplane.service_layer.diff import TableDiff, diff_tables
from strangler_proxy.controlplane.service_layer.table_queries import RouteTableQueries, active_in
from strangler_proxy.routes import RouteTable, table_problems

__all__ = [
    "NOTIFY_CHANNEL",
    "Actor",
    "Change",
    "PublishResult",
    "TableCommits",
    "merged",
    "require_reason",
    "require_still_active",
]

NOTIFY_CHANNEL = "strangler_route_table"
"""PostgreSQL channel notified (payload: the new generation) when the active pointer moves."""

EMERGENCIES = frozenset({"rollback", "panic"})
"""Actions never refused over a feature the front door cannot serve."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a username, 'guard' or 'system', and the client address when there is one."""

    name: str
    address: str | None = None


@dataclass(frozen=True)
class PublishResult:
    version: int
    previous: int
    generation: int
    diff: TableDiff

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "previous_version": self.previous,
            "generation": self.generation,
            "diff": self.diff.to_dict(),
        }


@dataclass(frozen=True)
class Change:
    """What one change says of itself in the audit: who, why, which action on what, the version it
    expects to replace, and the evidence it carries."""

    actor: Actor
    reason: str
    expected_version: int | None
    action: str
    target: str | None = None
    evidence: dict[str, Any] | None = None

    def with_evidence(self, extra: dict[str, Any] | None) -> Change:
        return replace(self, evidence=merged(self.evidence, extra))


class TableCommits:
    """Commits changes of the active route table (the only code that writes route versions)."""

    def __init__(self, engine: Engine, queries: RouteTableQueries, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._queries = queries
        self._clock = clock

    def table(self, candidate: RouteTable, change: Change, *, previous: int | None = None) -> PublishResult:
        """Store ``candidate`` as a new version and make it active if ``change.expected_version`` still is;
        ``previous`` is what a whole-table rollback returns to (default: the version it replaces)."""
        try:
            reason = require_reason(change.reason)
            with self._engine.begin() as conn:
                pointer, current = active_in(conn)
                require_still_active(pointer.version_id, change.expected_version)
                problems = table_problems(candidate, upstreams.registry(conn))
                if change.action not in EMERGENCIES:
                    problems += self._queries.front_door_problems(current.table, candidate)
                if problems:
                    raise Refused("route table refused", problems=problems)
                stored = versions.insert_version(
                    conn,
                    candidate,
                    author=change.actor.name,
                    reason=reason,
                    parent_id=pointer.version_id if previous is None else previous,
                    now=self._clock(),
                )
                return self._swap(conn, pointer, current, stored, replace(change, reason=reason), previous)
        except ControlPlaneError as exc:
            self.audit_failure(change, exc)
            raise

    def version(self, version_id: int, change: Change, *, previous: int | None = None) -> PublishResult:
        """Make the existing version ``version_id`` active again (a pointer swap, after re-validation)."""
        try:
            reason = require_reason(change.reason)
            with self._engine.begin() as conn:
                pointer, current = active_in(conn)
                require_still_active(pointer.version_id, change.expected_version)
                stored = versions.get_version(conn, version_id)
                if stored is None:
                    raise NotFound(f"version {version_id} does not exist")
                if stored.id == pointer.version_id:
                    raise BadRequest(f"version {version_id} is already active")
                problems = table_problems(stored.table, upstreams.registry(conn))
                if change.action not in EMERGENCIES:
                    problems += self._queries.front_door_problems(current.table, stored.table)
                if problems:
                    raise Refused(f"version {version_id} can no longer be activated", problems=problems)
                return self._swap(
                    conn, pointer, current, stored.table, replace(change, reason=reason), previous
                )
        except ControlPlaneError as exc:
            self.audit_failure(change, exc)
            raise

    def restore(self, before: ActivePointer, expected: int, change: Change) -> PublishResult:
        """Point back at the version ``before`` names, its own previous kept (audited as ``change``)."""
        with self._engine.begin() as conn:
            pointer, current = active_in(conn)
            require_still_active(pointer.version_id, expected)
            record = versions.get_version(conn, before.version_id)
            if record is None:
                raise NotFound(f"version {before.version_id} does not exist")
            return self._swap(conn, pointer, current, record.table, change, before.previous_version_id)

    def _swap(
        self,
        conn: Connection,
        pointer: ActivePointer,
        current: VersionRecord,
        stored: RouteTable,
        change: Change,
        previous: int | None,
    ) -> PublishResult:
        now = self._clock()
        generation = versions.swap_pointer(
            conn, expected=pointer.version_id, new=stored.version, now=now, previous=previous
        )
        if generation is None:
            latest = versions.active_pointer(conn)
            raise StaleVersion(pointer.version_id, latest.version_id if latest else -1)
        diff = diff_tables(current.table, stored)
        audit.append(
            conn,
            audit.AuditEntry(
                at=now,
                actor=change.actor.name,
                address=change.actor.address,
                action=change.action,
                target=change.target,
                outcome="ok",
                version_before=pointer.version_id,
                version_after=stored.version,
                diff=diff.text,
                reason=change.reason,
                evidence=change.evidence,
            ),
        )
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": str(generation)},
            )
        return PublishResult(
            version=stored.version, previous=pointer.version_id, generation=generation, diff=diff
        )

    def audit_failure(self, change: Change, error: ControlPlaneError) -> None:
        """Audit a refused change: the outcome by the error's status, the error in the evidence."""
        outcome = {409: "conflict", 422: "refused", 400: "refused", 404: "refused"}.get(
            error.status_code, "error"
        )
        details: dict[str, Any] = {"error": error.message, "problems": error.problems}
        if isinstance(error, StaleVersion):
            details["active_version"] = error.active
        with self._engine.begin() as conn:
            pointer = versions.active_pointer(conn)
            expected = change.expected_version
            audit.append(
                conn,
                audit.AuditEntry(
                    at=self._clock(),
                    actor=change.actor.name,
                    address=change.actor.address,
                    action=change.action,
                    target=change.target,
                    outcome=outcome,
                    version_before=expected
                    if expected is not None
                    else (pointer.version_id if pointer else None),
                    version_after=None,
                    diff=None,
                    reason=change.reason,
                    evidence={**(change.evidence or {}), "refusal": json.loads(json.dumps(details))},
                ),
            )


def merged(evidence: dict[str, Any] | None, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    if not extra:
        return evidence
    return {**(evidence or {}), **extra}


def require_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise BadRequest("a reason is required for every change")
    if len(cleaned) > 2000:
        raise BadRequest("the reason is longer than 2000 characters")
    return cleaned


def require_still_active(active_version: int, expected_version: int | None) -> None:
    """Compare-and-swap guard: refuse (409) when the caller expected another active version."""
    if expected_version is not None and expected_version != active_version:
        raise StaleVersion(expected_version, active_version)
