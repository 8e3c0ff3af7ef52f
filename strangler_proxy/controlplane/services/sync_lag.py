"""Sync lag per direction, and the reverse-sync drain a route rollback waits for.

Rolling a route back to legacy while writes taken by the new service are still on their way to the
monolith would hide them from clients; so a rollback of a route whose new upstream takes writes first
waits (bounded) for the reverse backlog to reach zero, then refuses unless forced. Panic never waits.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import Engine, create_engine

from strangler_proxy.controlplane.errors import SyncNotDrained
from strangler_proxy.controlplane.repositories.sync_lag import read_lag
from strangler_proxy.controlplane.services.clock import Clock, as_utc, utcnow
from strangler_proxy.routes import ActionMode, Rule

__all__ = ["DIRECTIONS", "UNSAFE_METHODS", "SyncLagService", "route_takes_writes"]

DIRECTIONS = ("forward", "reverse")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def route_takes_writes(rule: Rule) -> bool:
    """True when the rule sends writes to its new upstream (mode new/canary, unsafe methods allowed)."""
    if rule.action.mode not in (ActionMode.NEW, ActionMode.CANARY):
        return False
    methods = rule.match.methods
    return methods is None or bool(methods & UNSAFE_METHODS)


class SyncLagService:
    """Reads ``sync_lag`` from the sync database (its own engine, created on first use)."""

    def __init__(
        self,
        database_url: str,
        *,
        stale_after_s: float = 5.0,
        poll_s: float = 0.1,
        clock: Clock = utcnow,
    ) -> None:
        self._url = database_url
        self._engine: Engine | None = None
        self._stale_after_s = stale_after_s
        self._poll_s = poll_s
        self._clock = clock

    def _db(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self._url, pool_pre_ping=True)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def snapshot(self) -> dict[str, dict[str, Any] | None]:
        """``{"forward": {...} | None, "reverse": {...} | None}``; None when unknown."""
        rows = read_lag(self._db())
        now = self._clock()
        result: dict[str, dict[str, Any] | None] = {}
        for direction in DIRECTIONS:
            row = rows.get(direction)
            if row is None:
                result[direction] = None
                continue
            measured = as_utc(row.measured_at)
            age_s = (now - measured).total_seconds()
            result[direction] = {
                "lag_ms": round(row.lag_ms, 1),
                "backlog": row.backlog,
                "measured_at": measured.isoformat(),
                "stale": age_s > self._stale_after_s,
            }
        return result

    def reverse_backlog(self) -> int | None:
        row = read_lag(self._db()).get("reverse")
        return None if row is None else row.backlog

    async def drain_reverse(self, timeout_s: float) -> int | None:
        """Wait until the reverse backlog is 0 (or unknown), up to ``timeout_s``; the last backlog read."""
        deadline = time.monotonic() + timeout_s
        backlog = await asyncio.to_thread(self.reverse_backlog)
        while backlog and time.monotonic() < deadline:
            await asyncio.sleep(min(self._poll_s, max(0.0, deadline - time.monotonic())))
            backlog = await asyncio.to_thread(self.reverse_backlog)
        return backlog

    async def before_rollback(
        self, rule: Rule | None, *, force: bool, drain_timeout_s: float
    ) -> dict[str, Any] | None:
        """Drain before rolling ``rule`` back; the audit evidence, or SyncNotDrained (409) unless forced."""
        if rule is None or not route_takes_writes(rule):
            return None
        backlog = await self.drain_reverse(drain_timeout_s)
        if not backlog:
            return {"reverse_sync_backlog": backlog or 0} if backlog is not None else None
        if not force:
            raise SyncNotDrained(backlog)
        return {"reverse_sync_backlog": backlog, "forced": True}

    async def panic_evidence(self) -> dict[str, Any]:
        """Panic never waits: it only records the reverse backlog at the moment it ran."""
        return {"reverse_sync_backlog": await asyncio.to_thread(self.reverse_backlog)}
