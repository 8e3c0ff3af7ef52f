"""The changes of the route table, as use cases: publish, flip, add and remove a route, roll one route
back, roll the whole table back, re-activate a version, panic. The API, the admin UI and the guards
call these (the plan engine through the admin API); no handler orchestrates a change itself.

Each one drains, audits and publishes: when a change moves a route's writes to the other side it is a
handover (``service_layer.handover``): fenced, then committed once the old owner's sync is applied (409
after ``wait_s`` unless ``force``), the measure in the audit. An emergency (panic, a guard's rollback)
never waits: it is committed at once with the sync evidence, and completes in the background. The
commit itself is ``services.commits``; the reads are ``services.table_queries``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import ControlPlaneError, StaleVersion, Stopping, SyncNotDrained
from strangler_proxy.controlplane.service_layer import derive
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.controlplane.service_layer.commits import (
    NOTIFY_CHANNEL,
    Actor,
    Change,
    PublishResult,
    TableCommits,
    require_reason,
    require_still_active,
)
from strangler_proxy.controlplane.service_layer.handover import Handover
from strangler_proxy.controlplane.service_layer.table_queries import RouteTableQueries
from strangler_proxy.routes import ActionMode, RouteTable, Rule
from strangler_proxy.routes.front_doors import FrontDoor

__all__ = ["DEFAULT_WAIT_S", "NOTIFY_CHANNEL", "Actor", "PublishResult", "PublishingService"]

DEFAULT_WAIT_S = 10.0
"""How long a handover waits by default for the old owner's sync to be applied."""
PANIC_ATTEMPTS = 5
"""A panic derives its table from whatever is active; it tries again this often when it loses a race."""

Commit = Callable[[RouteTable, int | None, Change, int | None], PublishResult]
"""Commit a change: (table the handover settled on, expected version, change, previous) -> result."""


class PublishingService(RouteTableQueries):
    """The route table's use cases; reads are inherited from ``RouteTableQueries``."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, front_door: FrontDoor = "dataplane") -> None:
        super().__init__(engine, front_door=front_door)
        self._commits = TableCommits(engine, self, clock=clock)
        self.handover: Handover | None = None
        """Set by the composition root: every change that moves writes between sides goes through it."""

    def use_handover(self, handover: Handover) -> None:
        self.handover = handover
        handover._active = self.active_table_and_version

    def stop(self) -> None:
        """The process is stopping: a handover still waiting ends now (see :meth:`Handover.stop`)."""
        if self.handover is not None:
            self.handover.stop()

    # ---- publish and the changes derived from the active table ---------------------------------------

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
        """Store ``candidate`` as a new version and make it active if ``expected_version`` still is (a
        handover when it moves writes: ``force``, ``wait_s``, ``emergency``, see the module)."""
        change = Change(actor, reason, expected_version, action, target, evidence)
        return self._drained(
            change,
            lambda: candidate,
            lambda table, expected, settled, previous: self._commits.table(
                table, replace(settled, expected_version=expected), previous=previous
            ),
            force=force,
            wait_s=wait_s,
            emergency=emergency,
        )

    def flip(
        self,
        route: str,
        *,
        mode: ActionMode,
        actor: Actor,
        reason: str,
        weight: int | None = None,
        upstream: str | None = None,
        mirror_unsafe_methods: bool | None = None,
        expected_version: int | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        return self._publish_derived(
            lambda: self.flip_candidate(
                route,
                mode=mode,
                weight=weight,
                upstream=upstream,
                mirror_unsafe_methods=mirror_unsafe_methods,
            ),
            Change(actor, reason, expected_version, "flip", route),
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
            Change(actor, reason, expected_version, "route.add", rule.name),
        )

    def remove_route(
        self, route: str, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> PublishResult:
        return self._publish_derived(
            lambda: derive.remove_route(self.active_table(), route),
            Change(actor, reason, expected_version, "route.remove", route),
        )

    # ---- rollback, re-activation, panic --------------------------------------------------------------

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
        """Return one route to the previous version or to legacy; without ``route``, the whole table to
        the previous version (``rollback_all``) or to legacy (``panic``)."""
        if route is None and to == "previous":
            return self.rollback_all(
                actor=actor,
                reason=reason,
                expected_version=expected_version,
                evidence=evidence,
                force=force,
                wait_s=wait_s,
            )
        if route is None:
            return self.panic(actor=actor, reason=reason, evidence=evidence)
        change = Change(actor, reason, expected_version, "rollback", route, evidence)
        try:
            candidate = self.rollback_candidate(route, to=to)
        except ControlPlaneError as exc:
            self._commits.audit_failure(change, exc)
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

    def rollback_all(
        self,
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None = None,
        evidence: dict[str, Any] | None = None,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        """The whole table back to the version active before this one: a pointer swap to that version."""
        change = Change(actor, reason, expected_version, "rollback", "*", evidence)
        try:
            require_reason(reason)
            pointer, _current = self.active()
            require_still_active(pointer.version_id, expected_version)
            previous = self.version_before(pointer)
        except ControlPlaneError as exc:
            self._commits.audit_failure(change, exc)
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
        moves writes between sides, its measure in the audit with ``evidence``."""
        change = Change(actor, reason, expected_version, action, target or f"v{version_id}", evidence)
        return self._drained(
            change,
            lambda: self.version(version_id).table,
            lambda _table, expected, settled, previous: self._commits.version(
                version_id, replace(settled, expected_version=expected), previous=previous
            ),
            force=force,
            wait_s=wait_s,
            emergency=False,
        )

    def panic(self, *, actor: Actor, reason: str, evidence: dict[str, Any] | None = None) -> PublishResult:
        """Every route to legacy, whatever the active version is (no compare-and-swap to lose): an
        emergency, so it never waits for the sync and records what was pending."""
        for _attempt in range(PANIC_ATTEMPTS):
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

    # ---- the drain: one path for every change ---------------------------------------------------------

    def _publish_derived(
        self,
        build: Callable[[], RouteTable],
        change: Change,
        *,
        force: bool = False,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> PublishResult:
        """Publish the table ``build`` derives from the active one; a refusal to derive it is audited too."""
        try:
            candidate = build()
        except ControlPlaneError as exc:
            self._commits.audit_failure(change, exc)
            raise
        return self.publish(
            candidate,
            actor=change.actor,
            reason=change.reason,
            expected_version=change.expected_version,
            action=change.action,
            target=change.target,
            force=force,
            wait_s=wait_s,
        )

    def _drained(
        self,
        change: Change,
        candidate: Callable[[], RouteTable],
        commit: Commit,
        *,
        force: bool,
        wait_s: float,
        emergency: bool,
    ) -> PublishResult:
        """Run ``commit`` through the handover (without one, at once); every refusal is audited."""
        try:
            change = replace(change, reason=require_reason(change.reason))
            pointer, current = self.active()
            require_still_active(pointer.version_id, change.expected_version)
            table = candidate()
        except ControlPlaneError as exc:
            self._commits.audit_failure(change, exc)
            raise
        handover = self.handover
        if handover is None:
            return commit(table, change.expected_version, change, None)
        base = pointer.version_id

        def step(fence: RouteTable, expected: int, action: str, evidence: dict[str, Any]) -> PublishResult:
            return self._commits.table(
                fence,
                Change(change.actor, f"{action}: {change.reason}", expected, action, change.target, evidence),
            )

        def restore(expected: int, evidence: dict[str, Any]) -> PublishResult:
            abort = "handover.abort"
            aborted = Change(
                change.actor, f"{abort}: {change.reason}", expected, abort, change.target, evidence
            )
            return self._commits.restore(pointer, expected, aborted)

        try:
            return handover.run(
                current=current.table,
                current_version=base,
                candidate=table,
                force=force,
                wait_s=wait_s,
                emergency=emergency,
                commit=lambda settled, expected, extra: commit(
                    settled, expected, change.with_evidence(extra), base
                ),
                publish_raw=step,
                restore=restore,
            )
        except (SyncNotDrained, Stopping) as exc:
            self._commits.audit_failure(change.with_evidence(exc.evidence), exc)
            raise
