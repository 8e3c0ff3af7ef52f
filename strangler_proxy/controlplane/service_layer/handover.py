"""The write handover: every change that moves a route's writes from one side to the other.

One side owns a route's writes at a time: the new upstream of a rule in mode new, else the legacy
(legacy, shadow and canary alike: a canary's weight splits reads only), as
``strangler_proxy.routes.ownership.write_owner`` names it for every front door too. So
``legacy -> shadow -> canary`` moves no writes; ``canary -> new`` hands them to the new upstream and
``new -> canary`` or ``new -> legacy`` hands them back. A change of owner (a flip to new, a flip or
rollback to legacy, a whole-table rollback, a re-activation, a guard's rollback, a panic, a plan step:
anything published) is one handover::

      old owner takes writes        fenced: reads served,                 new owner takes writes
    ─────────────────────────┬──── writes 503 + Retry-After ─────────┬───────────────────────────
                             │  wait until the other side applied    │
                    publish  │  every event of the old owner's outbox│ publish the change
                    (fence)  │  (measured live, outbox vs inbox)     │ (fence lifted)
                             └── not applied in time / unknown ──────┴─> fence lifted, 409 (unless
                                                                          forced: audited with the
                                                                          pending events)

* The fence is a ``WriteFence`` on the moving rules, published like any change; it carries its own
  end (``until``), so a control plane that dies mid-handover leaves no fence behind for longer than
  the window (``STRANGLER_HANDOVER_FENCE_S``).
* The backlog is measured by ``services.backlog`` (live from the outbox and inbox tables, else from
  fresh ``sync_lag`` rows); unknown refuses like a backlog. A direction no relay ever measured has no
  sync to wait for.
* Emergencies (panic, a guard's rollback) never wait: the change is published at once with the moved
  routes fenced, what was pending is recorded, and a background task lifts the fence once the backlog
  is applied (or lets it end at ``until``), auditing ``handover.complete``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strangler_proxy.controlplane.errors import Stopping, SyncNotDrained
from strangler_proxy.controlplane.service_layer.backlog import BacklogProbe, Pending
from strangler_proxy.routes import RouteTable, WriteFence
from strangler_proxy.routes.ownership import write_owner

__all__ = ["Handover", "HandoverSettings", "Move", "write_moves", "write_owner"]

log = logging.getLogger(__name__)

Commit = Callable[[RouteTable, int, dict[str, Any]], Any]
"""Publish the change: (table to publish, expected active version, evidence) -> the publish result."""
PublishRaw = Callable[[RouteTable, int, str, dict[str, Any]], Any]
"""Publish a fence or its lifting: (table, expected version, action, evidence) -> result with .version."""
Restore = Callable[[int, dict[str, Any]], Any]
"""Point back at the version active before the fence: (expected fenced version, evidence)."""


@dataclass(frozen=True, slots=True)
class Move:
    route: str
    source: str
    destination: str

    @property
    def direction(self) -> str:
        return f"{self.source}->{self.destination}"


def write_moves(current: RouteTable, target: RouteTable) -> list[Move]:
    """Routes whose writes change owner between ``current`` and ``target``."""
    names = [rule.name for rule in current.rules] + [
        rule.name for rule in target.rules if current.rule(rule.name) is None
    ]
    moves = []
    for name in names:
        before, after = current.rule(name), target.rule(name)
        source, destination = write_owner(before), write_owner(after)
        if (before is not None and source is None) or (after is not None and destination is None):
            continue  # a read-only rule moves no writes
        if source is not None and destination is not None and source != destination:
            moves.append(Move(name, source, destination))
    return moves


@dataclass(frozen=True)
class HandoverSettings:
    fence_s: float = 30.0
    """Longest time writes stay fenced; a wait is cut to fit inside it."""
    retry_after_s: int = 1
    poll_s: float = 0.1


@dataclass
class _Background:
    threads: list[threading.Thread] = field(default_factory=list)


class Handover:
    """Runs the handover protocol around a publish (see the module's docstring)."""

    def __init__(self, probe: BacklogProbe, settings: HandoverSettings, *, fences: bool = True) -> None:
        self.probe = probe
        self.settings = settings
        self.fences = fences
        """False in front of an engine that cannot serve a fence: the wait still happens, unfenced."""
        self._background = _Background()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """The process begins to stop (its SIGTERM handler calls this, before the server's graceful
        wait): a handover still waiting ends now, lifts its fence and answers ``Stopping`` (503) rather
        than being cut off with its fence left up until the fence's bound."""
        self._stopping.set()

    # ---- measuring --------------------------------------------------------------------------------

    def measure(self, moves: list[Move]) -> dict[str, Pending]:
        directions = sorted({(move.source, move.destination) for move in moves})
        return {p.direction: p for s, d in directions for p in self.probe.measure(s, d)}

    def wait(self, moves: list[Move], timeout_s: float) -> dict[str, Pending]:
        deadline = time.monotonic() + timeout_s
        measured = self.measure(moves)
        while not _drained(measured) and time.monotonic() < deadline:
            if self._stopping.wait(min(self.settings.poll_s, max(0.0, deadline - time.monotonic()))):
                return measured
            measured = self.measure(moves)
        return measured

    # ---- the protocol -----------------------------------------------------------------------------

    def _fence(self, table: RouteTable, routes: set[str], until: float) -> RouteTable:
        fence = WriteFence(until=until, retry_after_s=self.settings.retry_after_s)
        rules = tuple(
            rule.model_copy(update={"fence": fence}) if rule.name in routes else rule for rule in table.rules
        )
        return table.model_copy(update={"rules": rules})

    def run(
        self,
        *,
        current: RouteTable,
        current_version: int,
        candidate: RouteTable,
        force: bool,
        wait_s: float,
        emergency: bool,
        commit: Commit,
        publish_raw: PublishRaw,
        restore: Restore,
    ) -> Any:
        moves = write_moves(current, candidate)
        candidate = _without_fences(candidate, {move.route for move in moves})
        if not moves:
            return commit(candidate, current_version, {})
        moved = sorted({move.route for move in moves})
        if self._stopping.is_set() and not emergency and not force:
            raise Stopping(moved)
        if emergency:
            return self._emergency(moves, candidate, current_version, commit, publish_raw)
        first = self.measure(moves)
        if all(p.source == "none" for p in first.values()):
            # no sync runs between these sides: there is no second copy to wait for, nor to fence
            return commit(candidate, current_version, _evidence(moves, first, fenced_s=0.0, fenced=False))
        wait_s = max(0.0, min(wait_s, self.settings.fence_s - 1.0))
        routes = {move.route for move in moves if current.rule(move.route) is not None}
        expected = current_version
        fenced_at = time.time()
        if self.fences and routes:
            fenced = publish_raw(
                self._fence(current, routes, fenced_at + self.settings.fence_s),
                current_version,
                "handover.fence",
                {"moves": [move.direction + f" ({move.route})" for move in moves]},
            )
            expected = fenced.version
        measured = self.wait(moves, wait_s)
        evidence = _evidence(
            moves, measured, fenced_s=time.time() - fenced_at, fenced=bool(routes) and self.fences
        )
        if not _drained(measured) and not force:
            if expected != current_version:
                self._lift(expected, restore, evidence)
            if self._stopping.is_set():
                stopping = Stopping(sorted(routes) or moved)
                stopping.evidence = {**evidence, "stopped": True}
                raise stopping
            raise _refusal(measured, evidence)
        if not _drained(measured):
            evidence["forced"] = True
        try:
            return commit(candidate, expected, evidence)
        except Exception:
            if expected != current_version:
                self._lift(expected, restore, evidence)
            raise

    def _lift(self, expected: int, restore: Restore, evidence: dict[str, Any]) -> None:
        try:
            restore(expected, evidence)
        except Exception:  # the fence ends by itself at its bound
            log.exception("lifting the write fence failed; it ends by itself within the fence window")

    def _emergency(
        self,
        moves: list[Move],
        candidate: RouteTable,
        current_version: int,
        commit: Commit,
        publish_raw: PublishRaw,
    ) -> Any:
        measured = self.measure(moves)
        routes = {move.route for move in moves if candidate.rule(move.route) is not None}
        evidence = _evidence(moves, measured, fenced_s=0.0, fenced=bool(routes) and self.fences)
        if _drained(measured) or not self.fences or not routes:
            return commit(candidate, current_version, evidence)
        until = time.time() + self.settings.fence_s
        result = commit(
            self._fence(candidate, routes, until), current_version, {**evidence, "completes": "background"}
        )
        thread = threading.Thread(
            target=self._complete,
            args=(moves, routes, until, publish_raw),
            name="handover-complete",
            daemon=True,
        )
        self._background.threads.append(thread)
        thread.start()
        return result

    def _complete(self, moves: list[Move], routes: set[str], until: float, publish_raw: PublishRaw) -> None:
        """Lift an emergency's fence once the backlog is applied (or leave it to end at ``until``)."""
        measured = self.wait(moves, max(0.0, until - time.time() - 0.5))
        drained = _drained(measured)
        evidence = {**_evidence(moves, measured, fenced_s=0.0, fenced=True), "drained": drained}
        if not drained:
            evidence["fence_ends_at"] = until
        self.lift_fences(routes, until, publish_raw, evidence)

    def lift_fences(
        self, routes: set[str], until: float, publish_raw: PublishRaw, evidence: dict[str, Any]
    ) -> None:
        for _attempt in range(5):
            try:
                table, version = self._active()
            except Exception:
                log.exception("handover: reading the active table failed")
                return
            mine = {
                rule.name
                for rule in table.rules
                if rule.name in routes and rule.fence is not None and rule.fence.until == until
            }
            if not mine:
                return  # someone published over the fence already
            try:
                publish_raw(_without_fences(table, mine), version, "handover.complete", evidence)
                return
            except Exception as exc:  # a concurrent publish: derive again
                log.info("handover: lifting the fence raced another publish (%s); again", exc)
        log.warning("handover: gave up lifting the fence on %s; it ends by itself", sorted(routes))

    _active: Callable[[], tuple[RouteTable, int]]
    """The active table and version (the publishing service sets it)."""

    def join_background(self, timeout_s: float = 60.0) -> None:
        """Wait for emergency handovers still completing (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        for thread in list(self._background.threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._background.threads = [t for t in self._background.threads if t.is_alive()]


def _drained(measured: Mapping[str, Pending]) -> bool:
    return all(p.count == 0 for p in measured.values())


def _without_fences(table: RouteTable, routes: set[str]) -> RouteTable:
    if not any(rule.fence is not None and rule.name in routes for rule in table.rules):
        return table
    rules = tuple(
        rule.model_copy(update={"fence": None}) if rule.name in routes else rule for rule in table.rules
    )
    return table.model_copy(update={"rules": rules})


def _evidence(
    moves: list[Move], measured: Mapping[str, Pending], *, fenced_s: float, fenced: bool
) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "handover": {
            "moves": [{"route": m.route, "from": m.source, "to": m.destination} for m in moves],
            "fenced": fenced,
            "fenced_s": round(fenced_s, 3),
            "directions": {name: p.to_dict() for name, p in measured.items()},
        }
    }
    for kind in ("forward", "reverse"):
        counts = {name: p.count for name, p in measured.items() if name.split(":")[0] == kind}
        if counts:
            known = [c for c in counts.values() if c is not None]
            evidence[f"{kind}_sync_backlog"] = None if len(known) < len(counts) else sum(known)
            evidence[f"{kind}_sync_backlogs"] = counts
    return evidence


def _refusal(measured: Mapping[str, Pending], evidence: dict[str, Any]) -> SyncNotDrained:
    error = SyncNotDrained(
        {name: p.count for name, p in measured.items()},
        pending_events={name: list(p.events) for name, p in measured.items() if p.events},
    )
    error.evidence = evidence
    return error
