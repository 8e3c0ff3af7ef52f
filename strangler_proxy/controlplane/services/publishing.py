"""Publishing: validate a candidate table, store it as a new immutable version and swap the active
pointer by compare-and-swap on the expected version, all audited.

A stale publish (the expected version is no longer active) raises StaleVersion and changes nothing;
a refused table raises Refused and the active table keeps serving. Rollback and re-activation are
pointer swaps to an existing version; per-route rollback and panic publish a derived table.

In front of an engine (``front_door``), a publish or re-activation that would add a feature the engine
cannot serve is refused too (``strangler_proxy.routes.front_doors``). Rollbacks and panics never are:
an emergency is not refused over a feature, and the engine serves what it can (a shadow rule from the
legacy, a fault not injected), saying so in its log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, text

from strangler_proxy.controlplane.errors import (
    BadRequest,
    ControlPlaneError,
    NotFound,
    Refused,
    StaleVersion,
    SyncNotDrained,
)
from strangler_proxy.controlplane.repositories import audit, upstreams, versions
from strangler_proxy.controlplane.repositories.versions import ActivePointer, VersionRecord
from strangler_proxy.controlplane.services import derive
from strangler_proxy.controlplane.services.clock import Clock, utcnow
from strangler_proxy.controlplane.services.diff import TableDiff, diff_tables
from strangler_proxy.controlplane.services.handover import Handover
from strangler_proxy.routes import ActionMode, RouteTable, Rule, table_problems
from strangler_proxy.routes.front_doors import FrontDoor, front_door_problems

__all__ = ["NOTIFY_CHANNEL", "Actor", "PublishResult", "PublishingService"]

NOTIFY_CHANNEL = "strangler_route_table"
"""PostgreSQL channel notified (payload: the new generation) when the active pointer moves."""


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


DEFAULT_WAIT_S = 10.0
"""How long a handover waits by default for the old owner's sync to be applied."""
_EMERGENCIES = frozenset({"rollback", "panic"})
"""Actions never refused over a feature the front door cannot serve."""


class PublishingService:
    def __init__(self, engine: Engine, *, clock: Clock = utcnow, front_door: FrontDoor = "dataplane") -> None:
        self._engine = engine
        self._clock = clock
        self.front_door: FrontDoor = front_door
        self.handover: Handover | None = None
        """Set by the composition root: every change that moves writes between sides goes through it."""

    def use_handover(self, handover: Handover) -> None:
        self.handover = handover
        handover._active = self._active_table_and_version

    def _active_table_and_version(self) -> tuple[RouteTable, int]:
        pointer, record = self.active()
        return record.table, pointer.version_id

    # ---- reads -------------------------------------------------------------------------------------

    def active(self) -> tuple[ActivePointer, VersionRecord]:
        with self._engine.connect() as conn:
            return self._active(conn)

    def active_table(self) -> RouteTable:
        return self.active()[1].table

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
            _, record = self._active(conn)
            problems = table_problems(candidate, upstreams.registry(conn))
        problems += self._front_door_problems(record.table, candidate)
        return diff_tables(record.table, candidate), problems

    # ---- candidates (pure, for previews) ------------------------------------------------------------

    def flip_candidate(
        self, route: str, *, mode: ActionMode, weight: int | None = None, upstream: str | None = None
    ) -> RouteTable:
        with self._engine.connect() as conn:
            _, record = self._active(conn)
            registry = upstreams.registry(conn)
        return derive.flip_route(record.table, registry, route, mode=mode, weight=weight, upstream=upstream)

    def add_route_candidate(self, rule: Rule, *, position: int | None = None) -> RouteTable:
        with self._engine.connect() as conn:
            _, record = self._active(conn)
            registry = upstreams.registry(conn)
        return derive.insert_route(record.table, registry, rule, position=position)

    def rollback_candidate(self, route: str, *, to: Literal["previous", "legacy"]) -> RouteTable:
        with self._engine.connect() as conn:
            pointer, record = self._active(conn)
            if to == "legacy":
                return derive.route_to_legacy(record.table, route)
            previous = self._previous(conn, pointer)
        return derive.route_from(record.table, previous.table, route)

    def previous_table(self) -> RouteTable:
        """The table a whole-table rollback would return to (BadRequest when there is none)."""
        with self._engine.connect() as conn:
            pointer, _record = self._active(conn)
            return self._previous(conn, pointer).table

    # ---- writes ------------------------------------------------------------------------------------

    def publish(
        self,
        candidate: RouteTable,
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None,
        action: str = "publish",
        target: str | None = None,
        evidence: dict[str, Any] | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
        emergency: bool = False,
    ) -> PublishResult:
        """Store ``candidate`` as a new version and make it active if ``expected_version`` still is.

        When it moves a route's writes to the other side, it is a handover (``services.handover``):
        fenced, then published once the old owner's sync is applied (409 after ``wait_s`` unless
        ``force``); an ``emergency`` (panic, a guard) publishes at once and completes in the background.
        """
        handover = self.handover
        if handover is None:
            return self._publish_now(
                candidate,
                actor=actor,
                reason=reason,
                expected_version=expected_version,
                action=action,
                target=target,
                evidence=evidence,
            )
        try:
            reason = _require_reason(reason)
            pointer, current = self.active()
            _require_still_active(pointer.version_id, expected_version)
        except ControlPlaneError as exc:
            self._audit_failure(actor, action, target, reason, expected_version, exc, evidence)
            raise
        base = pointer.version_id
        try:
            return handover.run(
                current=current.table,
                current_version=base,
                candidate=candidate,
                force=force,
                wait_s=wait_s,
                emergency=emergency,
                commit=lambda table, expected, extra: self._publish_now(
                    table,
                    actor=actor,
                    reason=reason,
                    expected_version=expected,
                    action=action,
                    target=target,
                    evidence=_merged(evidence, extra),
                    previous=base,
                ),
                publish_raw=self._handover_step(actor, reason, target),
                restore=self._handover_restore(pointer, actor, reason, target),
            )
        except SyncNotDrained as exc:
            self._audit_failure(
                actor, action, target, reason, expected_version, exc, _merged(evidence, exc.evidence)
            )
            raise

    def _handover_step(self, actor: Actor, reason: str, target: str | None) -> Callable[..., PublishResult]:
        def step(table: RouteTable, expected: int, action: str, evidence: dict[str, Any]) -> PublishResult:
            return self._publish_now(
                table,
                actor=actor,
                reason=f"{action}: {reason}",
                expected_version=expected,
                action=action,
                target=target,
                evidence=evidence,
            )

        return step

    def _handover_restore(
        self, before: ActivePointer, actor: Actor, reason: str, target: str | None
    ) -> Callable[[int, dict[str, Any]], PublishResult]:
        """Point back at the version ``before`` names (its own previous kept): a refused handover leaves
        the active version and the rollback history as they were."""

        def restore(expected: int, evidence: dict[str, Any]) -> PublishResult:
            with self._engine.begin() as conn:
                pointer, current = self._active(conn)
                _require_still_active(pointer.version_id, expected)
                record = versions.get_version(conn, before.version_id)
                if record is None:
                    raise NotFound(f"version {before.version_id} does not exist")
                return self._swap(
                    conn,
                    pointer,
                    current,
                    record.table,
                    actor,
                    f"handover.abort: {reason}",
                    "handover.abort",
                    target,
                    evidence,
                    previous=before.previous_version_id,
                )

        return restore

    def _publish_now(
        self,
        candidate: RouteTable,
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None,
        action: str = "publish",
        target: str | None = None,
        evidence: dict[str, Any] | None = None,
        previous: int | None = None,
    ) -> PublishResult:
        try:
            reason = _require_reason(reason)
            with self._engine.begin() as conn:
                pointer, current = self._active(conn)
                _require_still_active(pointer.version_id, expected_version)
                problems = table_problems(candidate, upstreams.registry(conn))
                if action not in _EMERGENCIES:
                    problems += self._front_door_problems(current.table, candidate)
                if problems:
                    raise Refused("route table refused", problems=problems)
                now = self._clock()
                stored = versions.insert_version(
                    conn,
                    candidate,
                    author=actor.name,
                    reason=reason,
                    parent_id=pointer.version_id if previous is None else previous,
                    now=now,
                )
                return self._swap(
                    conn, pointer, current, stored, actor, reason, action, target, evidence, previous=previous
                )
        except ControlPlaneError as exc:
            self._audit_failure(actor, action, target, reason, expected_version, exc, evidence)
            raise

    def flip(
        self,
        route: str,
        *,
        mode: ActionMode,
        actor: Actor,
        reason: str,
        weight: int | None = None,
        upstream: str | None = None,
        expected_version: int | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        return self._publish_derived(
            lambda: self.flip_candidate(route, mode=mode, weight=weight, upstream=upstream),
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action="flip",
            target=route,
            force=force,
            wait_s=wait_s,
        )

    def add_route(
        self,
        rule: Rule,
        *,
        actor: Actor,
        reason: str,
        position: int | None = None,
        expected_version: int | None = None,
    ) -> PublishResult:
        return self._publish_derived(
            lambda: self.add_route_candidate(rule, position=position),
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action="route.add",
            target=rule.name,
        )

    def remove_route(
        self, route: str, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> PublishResult:
        return self._publish_derived(
            lambda: derive.remove_route(self.active_table(), route),
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action="route.remove",
            target=route,
        )

    def rollback(
        self,
        *,
        actor: Actor,
        reason: str,
        route: str | None = None,
        to: Literal["previous", "legacy"] = "previous",
        expected_version: int | None = None,
        evidence: dict[str, Any] | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
        emergency: bool = False,
    ) -> PublishResult:
        """Return one route, or the whole table, to the previous version or to legacy.

        The whole table to the previous version is a pointer swap to that existing version. Either is a
        handover when it moves writes (``force``, ``wait_s``, ``emergency``: see ``publish``).
        """
        if route is None and to == "previous":
            return self._reactivate_previous(actor, reason, expected_version, evidence, force, wait_s)
        if route is None:
            return self.panic(actor=actor, reason=reason, evidence=evidence)
        try:
            candidate = self.rollback_candidate(route, to=to)
        except ControlPlaneError as exc:
            self._audit_failure(actor, "rollback", route, reason, expected_version, exc, evidence)
            raise
        return self.publish(
            candidate,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action="rollback",
            target=route,
            evidence=evidence,
            force=force,
            wait_s=wait_s,
            emergency=emergency,
        )

    def panic(self, *, actor: Actor, reason: str, evidence: dict[str, Any] | None = None) -> PublishResult:
        """Every route to legacy, whatever the active version is (no compare-and-swap to lose)."""
        for _attempt in range(5):
            pointer, record = self.active()
            try:
                return self.publish(
                    derive.all_to_legacy(record.table),
                    actor=actor,
                    reason=reason,
                    expected_version=pointer.version_id,
                    action="panic",
                    target="*",
                    evidence=evidence,
                    emergency=True,
                )
            except StaleVersion:
                continue
        raise StaleVersion(pointer.version_id, self.active()[0].version_id)

    def reactivate(
        self,
        version_id: int,
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None = None,
        evidence: dict[str, Any] | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
        action: str = "reactivate",
        target: str | None = None,
    ) -> PublishResult:
        """Make an existing version active again (a pointer swap, after re-validation); a handover when it
        moves writes between sides (see ``publish``), its measure in the audit with ``evidence``."""
        target = target or f"v{version_id}"
        handover = self.handover
        if handover is None:
            return self._reactivate_now(version_id, actor, reason, expected_version, evidence, action, target)
        try:
            _require_reason(reason)
            pointer, current = self.active()
            _require_still_active(pointer.version_id, expected_version)
            stored = self.version(version_id)
        except ControlPlaneError as exc:
            self._audit_failure(actor, action, target, reason, expected_version, exc, evidence)
            raise
        base = pointer.version_id
        try:
            return handover.run(
                current=current.table,
                current_version=base,
                candidate=stored.table,
                force=force,
                wait_s=wait_s,
                emergency=False,
                commit=lambda _table, expected, extra: self._reactivate_now(
                    version_id,
                    actor,
                    reason,
                    expected,
                    _merged(evidence, extra),
                    action,
                    target,
                    previous=base,
                ),
                publish_raw=self._handover_step(actor, reason, target),
                restore=self._handover_restore(pointer, actor, reason, target),
            )
        except SyncNotDrained as exc:
            self._audit_failure(
                actor, action, target, reason, expected_version, exc, _merged(evidence, exc.evidence)
            )
            raise

    def _reactivate_now(
        self,
        version_id: int,
        actor: Actor,
        reason: str,
        expected_version: int | None,
        evidence: dict[str, Any] | None,
        action: str,
        target: str,
        previous: int | None = None,
    ) -> PublishResult:
        reason_text = reason
        try:
            reason_text = _require_reason(reason)
            with self._engine.begin() as conn:
                pointer, current = self._active(conn)
                _require_still_active(pointer.version_id, expected_version)
                stored = versions.get_version(conn, version_id)
                if stored is None:
                    raise NotFound(f"version {version_id} does not exist")
                if stored.id == pointer.version_id:
                    raise BadRequest(f"version {version_id} is already active")
                problems = table_problems(stored.table, upstreams.registry(conn))
                if action not in _EMERGENCIES:
                    problems += self._front_door_problems(current.table, stored.table)
                if problems:
                    raise Refused(f"version {version_id} can no longer be activated", problems=problems)
                return self._swap(
                    conn,
                    pointer,
                    current,
                    stored.table,
                    actor,
                    reason_text,
                    action,
                    target,
                    evidence,
                    previous=previous,
                )
        except ControlPlaneError as exc:
            self._audit_failure(actor, action, target, reason_text, expected_version, exc, evidence)
            raise

    # ---- internals ---------------------------------------------------------------------------------

    def _front_door_problems(self, active: RouteTable, candidate: RouteTable) -> list[str]:
        """What ``candidate`` would newly ask of the front door that it cannot serve."""
        known = set(front_door_problems(active, self.front_door))
        return [p for p in front_door_problems(candidate, self.front_door) if p not in known]

    def _publish_derived(
        self,
        build: Callable[[], RouteTable],
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None,
        action: str,
        target: str,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        """Publish the table ``build`` derives from the active one; a refusal to derive it is audited too."""
        try:
            candidate = build()
        except ControlPlaneError as exc:
            self._audit_failure(actor, action, target, reason, expected_version, exc, None)
            raise
        return self.publish(
            candidate,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action=action,
            target=target,
            force=force,
            wait_s=wait_s,
        )

    def _reactivate_previous(
        self,
        actor: Actor,
        reason: str,
        expected_version: int | None,
        evidence: dict[str, Any] | None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        try:
            _require_reason(reason)
            with self._engine.connect() as conn:
                pointer, _current = self._active(conn)
                _require_still_active(pointer.version_id, expected_version)
                previous = self._previous(conn, pointer)
        except ControlPlaneError as exc:
            self._audit_failure(actor, "rollback", "*", reason, expected_version, exc, evidence)
            raise
        return self.reactivate(
            previous.id,
            actor=actor,
            reason=reason,
            expected_version=pointer.version_id,
            evidence=evidence,
            force=force,
            wait_s=wait_s,
            action="rollback",
            target="*",
        )

    def _active(self, conn: Connection) -> tuple[ActivePointer, VersionRecord]:
        pointer = versions.active_pointer(conn)
        if pointer is None:
            raise ControlPlaneError(
                "the store has no active version yet; start the control plane to bootstrap it"
            )
        record = versions.get_version(conn, pointer.version_id)
        if record is None:
            raise ControlPlaneError(
                f"the active pointer names version {pointer.version_id}, which is missing"
            )
        return pointer, record

    def _previous(self, conn: Connection, pointer: ActivePointer) -> VersionRecord:
        previous_id = pointer.previous_version_id
        if previous_id is None:
            current = versions.get_version(conn, pointer.version_id)
            previous_id = current.parent_id if current else None
        previous = versions.get_version(conn, previous_id) if previous_id is not None else None
        if previous is None:
            raise BadRequest(f"version {pointer.version_id} has no previous version to return to")
        return previous

    def _swap(
        self,
        conn: Connection,
        pointer: ActivePointer,
        current: VersionRecord,
        stored: RouteTable,
        actor: Actor,
        reason: str,
        action: str,
        target: str | None,
        evidence: dict[str, Any] | None,
        *,
        previous: int | None = None,
    ) -> PublishResult:
        now = self._clock()
        generation = versions.swap_pointer(
            conn, expected=pointer.version_id, new=stored.version, now=now, previous=previous
        )
        if generation is None:
            latest = versions.active_pointer(conn)
            raise StaleVersion(pointer.version_id, latest.version_id if latest else -1)
        change = diff_tables(current.table, stored)
        audit.append(
            conn,
            audit.AuditEntry(
                at=now,
                actor=actor.name,
                address=actor.address,
                action=action,
                target=target,
                outcome="ok",
                version_before=pointer.version_id,
                version_after=stored.version,
                diff=change.text,
                reason=reason,
                evidence=evidence,
            ),
        )
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": str(generation)},
            )
        return PublishResult(
            version=stored.version, previous=pointer.version_id, generation=generation, diff=change
        )

    def _audit_failure(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        reason: str | None,
        expected_version: int | None,
        error: ControlPlaneError,
        evidence: dict[str, Any] | None,
    ) -> None:
        outcome = {409: "conflict", 422: "refused", 400: "refused", 404: "refused"}.get(
            error.status_code, "error"
        )
        details: dict[str, Any] = {"error": error.message, "problems": error.problems}
        if isinstance(error, StaleVersion):
            details["active_version"] = error.active
        with self._engine.begin() as conn:
            pointer = versions.active_pointer(conn)
            audit.append(
                conn,
                audit.AuditEntry(
                    at=self._clock(),
                    actor=actor.name,
                    address=actor.address,
                    action=action,
                    target=target,
                    outcome=outcome,
                    version_before=expected_version
                    if expected_version is not None
                    else (pointer.version_id if pointer else None),
                    version_after=None,
                    diff=None,
                    reason=reason,
                    evidence={**(evidence or {}), "refusal": json.loads(json.dumps(details))},
                ),
            )


def _merged(evidence: dict[str, Any] | None, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    if not extra:
        return evidence
    return {**(evidence or {}), **extra}


def _require_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise BadRequest("a reason is required for every change")
    if len(cleaned) > 2000:
        raise BadRequest("the reason is longer than 2000 characters")
    return cleaned


def _require_still_active(active_version: int, expected_version: int | None) -> None:
    """Compare-and-swap guard: refuse (409) when the caller expected another active version."""
    if expected_version is not None and expected_version != active_version:
        raise StaleVersion(expected_version, active_version)
