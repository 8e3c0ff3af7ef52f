"""Audit of refused requests without flooding: one row per caller, target, reason and minute, counted.

What the outside controls is kept short and bounded: the target is the method and the route template
that refused (``GET /api/v1/versions/{version}``), or the path cut to 100 characters; reasons are the
control plane's own fixed sentences; a failed login is recorded under the actor ``anonymous`` with the
name tried as its target (only when it is a valid user name). Rows older than the retention
(``STRANGLER_AUDIT_DENIAL_RETENTION_S``, 30 days) are deleted every minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from strangler_proxy.controlplane.repositories import denials as repo
from strangler_proxy.controlplane.repositories.denials import DenialFilter, DenialKey, DenialRow
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow

__all__ = ["DenialFilter", "DenialRow", "DenialService", "shorten"]

MAX_PATH_CHARS = 100


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis says it was), control characters replaced."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


class DenialService:
    def __init__(self, engine: Engine, *, retention_s: int, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self.retention_s = retention_s

    def record(self, *, actor: str, action: str, address: str | None, target: str, reason: str) -> None:
        """Count one refused request in its minute's row."""
        now = self._clock()
        key = DenialKey(
            minute=now.replace(second=0, microsecond=0),
            actor=shorten(actor, 150),
            address=shorten(address or "", 64),
            action=shorten(action, 64),
            target=shorten(target, 255),
            reason=shorten(reason, 255),
        )
        with self._engine.begin() as conn:
            repo.count(conn, key, now)

    def search(self, filters: DenialFilter) -> list[DenialRow]:
        with self._engine.connect() as conn:
            return repo.query(conn, filters)

    def prune(self) -> int:
        """Delete the rows older than the retention; how many."""
        cutoff: datetime = self._clock() - timedelta(seconds=self.retention_s)
        with self._engine.begin() as conn:
            return repo.prune(conn, cutoff)
