"""The old owner's backlog in one direction of the sync: the events the other side has not applied yet.

Measured from the outbox and inbox tables (``repositories.sync_backlog``) when the deployment names the
sides' databases (``STRANGLER_SYNC_OUTBOXES``); otherwise from the relays' ``sync_lag`` rows, but only
when fresh: a row older than ``stale_after_s`` is unknown, and unknown refuses like a backlog. A
direction no relay ever measured has no sync to wait for (``measured_by: none``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from strangler_proxy.controlplane.repositories.sync_backlog import (
    Unapplied,
    forward_unapplied,
    reverse_unapplied,
)
from strangler_proxy.controlplane.repositories.sync_lag import sqlite_file_missing
from strangler_proxy.controlplane.service_layer.clock import as_utc, utcnow
from strangler_proxy.controlplane.service_layer.sync_lag import SyncLagService, is_reverse
from strangler_proxy.routes import LEGACY

__all__ = ["BacklogProbe", "Pending"]


@dataclass(frozen=True, slots=True)
class Pending:
    """The old owner's events the other side has not applied: ``count`` None is unknown."""

    direction: str
    count: int | None
    events: tuple[str, ...] = ()
    source: str = "outbox"
    """``outbox`` (live), ``sync_lag`` (a fresh relay row), ``none`` (no sync measured this direction)."""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "pending": self.count,
            "events": list(self.events),
            "measured_by": self.source,
            **({"detail": self.detail} if self.detail else {}),
        }


class BacklogProbe:
    """Measures a direction's backlog: live from the outbox and inbox tables when the databases are named
    (``outboxes``: side -> URL, ``legacy`` for the monolith), else from a fresh ``sync_lag`` row."""

    def __init__(
        self,
        *,
        sync_url: str,
        outboxes: Mapping[str, str],
        consumers: Mapping[str, str],
        lag: SyncLagService,
        stale_after_s: float,
    ) -> None:
        self._sync_url = sync_url
        self._outboxes = dict(outboxes)
        self._consumers = dict(consumers)
        self._lag = lag
        self._stale_after_s = stale_after_s
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    @property
    def live(self) -> bool:
        return bool(self._outboxes)

    def _engine(self, url: str) -> Engine:
        with self._lock:
            if url not in self._engines:
                self._engines[url] = create_engine(url, pool_pre_ping=True)
            return self._engines[url]

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def direction(self, source: str, destination: str) -> str | None:
        """The direction's name as the relays record it: ``forward:<consumer>``, ``reverse`` or
        ``reverse:<service>``; None for a service whose reverse direction is not known."""
        if source == LEGACY:
            return f"forward:{self._consumers.get(destination, destination)}"
        named = self._lag.reverse_directions_for(source)
        return named[0] if named else None

    def measure(self, source: str, destination: str) -> list[Pending]:
        """The backlog(s) of the old owner ``source``'s writes towards ``destination``."""
        direction = self.direction(source, destination) or f"reverse:{source}"
        started = time.monotonic()
        try:
            found = self._live(source, destination)
        except SQLAlchemyError as exc:
            return [Pending(direction, None, detail=f"unreadable: {exc.__class__.__name__}")]
        if found is None:
            return self._from_lag_rows(source, destination)
        took = time.monotonic() - started
        if took > self._stale_after_s:
            detail = f"the measure took {took:.1f} s (bound {self._stale_after_s:g} s)"
            return [Pending(direction, None, detail=detail)]
        return [Pending(direction, found.count, found.events)]

    def _live(self, source: str, destination: str) -> Unapplied | None:
        """None when a database it needs is not named, or is a SQLite file not created yet."""
        legacy_url = self._outboxes.get(LEGACY)
        if legacy_url is None or sqlite_file_missing(legacy_url):
            return None
        if source == LEGACY:
            if sqlite_file_missing(self._sync_url):
                return None
            consumer = self._consumers.get(destination, destination)
            return forward_unapplied(self._engine(legacy_url), self._engine(self._sync_url), consumer)
        service_url = self._outboxes.get(source)
        if service_url is None or sqlite_file_missing(service_url):
            return None
        return reverse_unapplied(self._engine(service_url), self._engine(legacy_url))

    def _from_lag_rows(self, source: str, destination: str) -> list[Pending]:
        """From the relays' rows: ``forward`` for the monolith's writes, the source's reverse direction (every
        reverse direction when it is not known) for a service's. No row at all: no sync to wait for."""
        rows = self._lag.rows()
        if source == LEGACY:
            wanted = ["forward"]
        else:
            named = self._lag.reverse_directions_for(source)
            wanted = list(named) if named else [name for name in rows if is_reverse(name)]
        now = utcnow()
        found = []
        for name in wanted:
            row = rows.get(name)
            label = f"forward:{self._consumers.get(destination, destination)}" if source == LEGACY else name
            if row is None:
                found.append(Pending(label, 0, source="none", detail=f"no {name} sync measured"))
                continue
            age = (now - as_utc(row.measured_at)).total_seconds()
            if age > self._stale_after_s:
                detail = f"the {name} figure is {age:.1f} s old (bound {self._stale_after_s:g} s)"
                found.append(Pending(label, None, source="sync_lag", detail=detail))
            else:
                found.append(Pending(label, row.backlog, source="sync_lag"))
        return found
