"""Automatic rollback: per route, judge the new target against the legacy over 1-second windows.

A window fails when the new side, with at least ``min_requests`` requests, has
  - a 5xx rate above max(``max_error_rate``, legacy 5xx rate + ``error_rate_delta``), or
  - a p99 above ``latency_factor`` x the legacy p99 (and above ``latency_floor_ms``), or
  - a shadow parity below ``min_parity`` (with at least ``min_requests`` comparisons).
``failing_windows`` consecutive failing windows roll the route back to legacy, audited with actor
"guard" and the evidence. Windows without enough traffic neither count nor reset. The legacy
baseline is the same route's legacy traffic in that second, or all legacy traffic when the route
sent too little there. Defaults follow Flagger's: 99% success rate, 5 failing checks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import ControlPlaneError, StaleVersion
from strangler_proxy.controlplane.metrics import ShadowWindow, Window
from strangler_proxy.controlplane.repositories import guards as repo
from strangler_proxy.controlplane.repositories import shadow, stats
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.controlplane.service_layer.publishing import Actor, PublishingService
from strangler_proxy.routes import ActionMode, RouteTable, Rule

__all__ = ["GUARD_ACTOR", "GuardService", "GuardSettings", "GuardState"]

log = logging.getLogger(__name__)

GUARD_ACTOR = "guard"
GUARDED_MODES = frozenset({ActionMode.CANARY, ActionMode.NEW, ActionMode.SHADOW})


class GuardSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    error_rate_delta: float = Field(default=0.01, ge=0, le=1)
    latency_factor: float = Field(default=2.0, gt=0)
    latency_floor_ms: float = Field(default=50.0, ge=0)
    min_parity: float = Field(default=0.95, ge=0, le=1)
    failing_windows: int = Field(default=5, ge=1, le=600)
    min_requests: int = Field(default=5, ge=1)


@dataclass
class GuardState:
    route: str
    signature: tuple[Any, ...]
    since_second: int
    status: str = "watching"
    """watching (no verdict yet) | ok | failing | tripped | disabled"""
    consecutive: int = 0
    judged_until: int = 0
    """Seconds below this one were judged."""
    last_evidence: list[dict[str, Any]] = field(default_factory=list)
    tripped_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "status": self.status,
            "consecutive_failures": self.consecutive,
            "judged_until": self.judged_until,
            "evidence": self.last_evidence[-5:],
            "tripped_version": self.tripped_version,
        }


def _signature(rule: Rule) -> tuple[Any, ...]:
    return (rule.action.mode, rule.action.upstream, rule.action.weight)


def judge_window(
    settings: GuardSettings, new: Window, legacy: Window, parity: ShadowWindow
) -> tuple[bool | None, list[str]]:
    """(failed?, reasons) for one second; None when the window had too little traffic to judge."""
    reasons: list[str] = []
    judged = False
    if new.requests >= settings.min_requests:
        judged = True
        legacy_rate = legacy.error_rate if legacy.requests >= settings.min_requests else None
        limit = max(settings.max_error_rate, (legacy_rate or 0.0) + settings.error_rate_delta)
        rate = new.error_rate or 0.0
        if rate > limit:
            reasons.append(f"5xx rate {rate:.3f} > {limit:.3f}")
        new_p99, legacy_p99 = (
            new.p(0.99),
            legacy.p(0.99) if legacy.requests >= settings.min_requests else None,
        )
        if new_p99 is not None and legacy_p99 is not None:
            bound = max(settings.latency_factor * legacy_p99, settings.latency_floor_ms)
            if new_p99 > bound:
                reasons.append(f"p99 {new_p99:.1f} ms > {bound:.1f} ms")
    if parity.compared >= settings.min_requests:
        judged = True
        value = parity.parity or 0.0
        if value < settings.min_parity:
            reasons.append(f"shadow parity {value:.3f} < {settings.min_parity:.3f}")
    if not judged:
        return None, []
    return bool(reasons), reasons


class GuardService:
    """Holds each guarded route's state; ``tick()`` judges the seconds that became final and acts."""

    def __init__(
        self,
        engine: Engine,
        publishing: PublishingService,
        *,
        lag_s: float = 2.0,
        seconds: Callable[[], float] = time.time,
        clock: Clock = utcnow,
    ) -> None:
        self._engine = engine
        self._publishing = publishing
        self._lag = lag_s
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, GuardState] = {}

    # ---- settings -----------------------------------------------------------------------------------

    def settings_for(self, route: str) -> tuple[GuardSettings, bool]:
        with self._engine.connect() as conn:
            row = repo.get_rule(conn, route)
        if row is None:
            return GuardSettings(), True
        return GuardSettings.model_validate(row[0]), row[1]

    def configure(self, route: str, *, settings: dict[str, Any], enabled: bool) -> GuardSettings:
        parsed = GuardSettings.model_validate(settings)
        with self._engine.begin() as conn:
            repo.save_rule(conn, route, settings=parsed.model_dump(), enabled=enabled, now=self._clock())
        return parsed

    def overview(self, table: RouteTable) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            rules = repo.list_rules(conn)
        with self._lock:
            states = dict(self._states)
        result = []
        for rule in table.rules:
            settings, enabled = rules.get(rule.name, ({}, True))
            state = states.get(rule.name)
            status = (
                state.to_dict()
                if state
                else {"route": rule.name, "status": "idle", "consecutive_failures": 0}
            )
            if not enabled:
                status["status"] = "disabled"
            elif rule.action.mode not in GUARDED_MODES and status["status"] != "tripped":
                status["status"] = "idle"
            result.append(
                {
                    **status,
                    "enabled": enabled,
                    "settings": GuardSettings.model_validate(settings).model_dump(),
                }
            )
        return result

    def state(self, route: str) -> GuardState | None:
        with self._lock:
            return self._states.get(route)

    # ---- judging ------------------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Judge every second that became final since the last tick; return the routes rolled back."""
        final_until = int(self._seconds() - self._lag)
        table = self._publishing.active_table()
        with self._engine.connect() as conn:
            rules = repo.list_rules(conn)
        guarded = self._refresh_states(table, rules, final_until)
        if not guarded:
            return []
        since = min(state.judged_until for state in guarded)
        points: dict[tuple[str, str, int], Window] = {}
        parity: dict[str, dict[int, ShadowWindow]] = {s.route: {} for s in guarded}
        if since < final_until:
            with self._engine.connect() as conn:
                points = stats.per_second(conn, since=since, until=final_until)
                for state in guarded:
                    parity[state.route] = shadow.per_second(
                        conn, since=since, until=final_until, route=state.route
                    )
        tripped = []
        for state in guarded:
            settings = GuardSettings.model_validate(rules.get(state.route, ({}, True))[0])
            if self._judge(state, settings, points, parity[state.route], final_until):
                tripped.append(state.route)
        for route in tripped:
            self._roll_back(route, table.version)
        return tripped

    def _refresh_states(
        self, table: RouteTable, rules: dict[str, repo.GuardRuleRow], final_until: int
    ) -> list[GuardState]:
        """States of the routes to judge now; a changed rule starts a fresh state from this second."""
        now_second = int(self._seconds())
        guarded = []
        with self._lock:
            for rule in table.rules:
                signature = _signature(rule)
                state = self._states.get(rule.name)
                if state is None or state.signature != signature:
                    if (
                        state is not None
                        and state.status == "tripped"
                        and rule.action.mode is ActionMode.LEGACY
                    ):
                        continue  # keep showing the trip until the route is flipped again
                    state = GuardState(rule.name, signature, since_second=now_second, judged_until=now_second)
                    self._states[rule.name] = state
                enabled = rules.get(rule.name, ({}, True))[1]
                if not enabled:
                    state.status = "disabled"
                    state.judged_until = max(state.judged_until, final_until)
                    continue
                if rule.action.mode in GUARDED_MODES:
                    guarded.append(state)
            for name in [n for n in self._states if table.rule(n) is None]:
                del self._states[name]
        return guarded

    def _judge(
        self,
        state: GuardState,
        settings: GuardSettings,
        points: dict[tuple[str, str, int], Window],
        parity: dict[int, ShadowWindow],
        final_until: int,
    ) -> bool:
        if state.consecutive >= settings.failing_windows:
            return True  # judged failing before; the rollback has yet to succeed
        baseline_cache: dict[int, Window] = {}
        for second in range(state.judged_until, final_until):
            new = points.get((state.route, "new", second), Window())
            legacy = points.get((state.route, "legacy", second), Window())
            if legacy.requests < settings.min_requests:
                legacy = baseline_cache.setdefault(second, _all_legacy(points, second))
            failed, reasons = judge_window(settings, new, legacy, parity.get(second, ShadowWindow()))
            state.judged_until = second + 1
            if failed is None:
                continue
            if failed:
                state.consecutive += 1
                state.status = "failing"
                state.last_evidence.append(
                    {
                        "second": second,
                        "reasons": reasons,
                        "new": new.to_dict(),
                        "legacy": legacy.to_dict(),
                        "shadow": parity.get(second, ShadowWindow()).to_dict(),
                    }
                )
                state.last_evidence = state.last_evidence[-settings.failing_windows :]
                if state.consecutive >= settings.failing_windows:
                    return True
            else:
                state.consecutive = 0
                state.status = "ok"
                state.last_evidence = []
        return False

    def _roll_back(self, route: str, version: int) -> None:
        state = self._states[route]
        evidence = {"windows": list(state.last_evidence), "checked_version": version}
        reasons = sorted({r.split(" ")[0] for w in state.last_evidence for r in w["reasons"]})
        try:
            result = self._publishing.rollback(
                actor=Actor(GUARD_ACTOR),
                reason=f"guard: {state.consecutive} consecutive failing windows ({', '.join(reasons)})",
                route=route,
                to="legacy",
                expected_version=version,
                evidence=evidence,
                emergency=True,
            )
        except StaleVersion:
            log.info("guard: version %s changed before rolling back %s; trying again", version, route)
            return
        except ControlPlaneError:
            log.exception("guard: rolling back route %s failed; judging it afresh", route)
            with self._lock:
                state.consecutive = 0
            return
        with self._lock:
            state.status = "tripped"
            state.tripped_version = result.version
            state.signature = ("tripped",)
        log.warning("guard rolled route %s back to legacy (version %s)", route, result.version)


def _all_legacy(points: dict[tuple[str, str, int], Window], second: int) -> Window:
    total = Window()
    for (_route, target, at), window in points.items():
        if target == "legacy" and at == second:
            total.requests += window.requests
            total.status_5xx += window.status_5xx
            total.latency_sum_ms += window.latency_sum_ms
            total.buckets = [a + b for a, b in zip(total.buckets, window.buckets, strict=True)]
    return total
