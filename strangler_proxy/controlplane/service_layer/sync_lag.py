"""Sync lag per direction, as the relays last recorded it (what the admin shows).

Directions are the rows of the sync database's ``sync_lag`` table: ``forward`` (legacy -> services),
``reverse`` (the catalog -> legacy) and ``reverse:<service>`` (any other service -> legacy). Which
reverse direction carries a new upstream's writes is the ``reverse_directions`` mapping (the setting
``STRANGLER_SYNC_REVERSE_DIRECTIONS``, ``upstream=direction,...``); an upstream it does not name
drains every reverse direction, since we cannot tell which one holds its writes.

A handover (``services.handover``) reads these rows only when it cannot measure the outbox and inbox
tables themselves, and then only fresh ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, create_engine

from strangler_proxy.controlplane.repositories.sync_lag import LagRow, read_lag
from strangler_proxy.controlplane.service_layer.clock import Clock, as_utc, utcnow
from strangler_proxy.routes import LEGACY, RouteTable, Rule
from strangler_proxy.routes.ownership import UNSAFE_METHODS, write_owner

__all__ = [
    "DEFAULT_REVERSE_DIRECTIONS",
    "DIRECTIONS",
    "UNSAFE_METHODS",
    "SyncLagService",
    "is_reverse",
    "route_takes_writes",
    "routes_moving_writes_off",
]

DIRECTIONS = ("forward", "reverse")
"""Always listed (``None`` until measured); any other direction appears once a relay records it."""
DEFAULT_REVERSE_DIRECTIONS: Mapping[str, str] = {}
"""New upstream -> the reverse direction its writes travel (as ``python -m acl.sync reverse`` names it);
none by default: a rollback then drains every reverse direction (the project file names them)."""


def is_reverse(direction: str) -> bool:
    return direction == "reverse" or direction.startswith("reverse:")


def route_takes_writes(rule: Rule) -> bool:
    """True when the rule sends writes to its new upstream (mode new, unsafe methods allowed; a canary's
    writes stay on the legacy: see ``strangler_proxy.routes.ownership``)."""
    owner = write_owner(rule)
    return owner is not None and owner != LEGACY


def routes_moving_writes_off(current: RouteTable, target: RouteTable) -> list[Rule]:
    """Rules of ``current`` that send writes to a new upstream that ``target`` no longer sends them to."""
    moving = []
    for rule in current.rules:
        if not route_takes_writes(rule):
            continue
        after = target.rule(rule.name)
        if after is None or not route_takes_writes(after) or after.action.upstream != rule.action.upstream:
            moving.append(rule)
    return moving


def _order(direction: str) -> tuple[int, str]:
    return (DIRECTIONS.index(direction), "") if direction in DIRECTIONS else (len(DIRECTIONS), direction)


class SyncLagService:
    """Reads ``sync_lag`` from the sync database (its own engine, created on first use)."""

    def __init__(
        self,
        database_url: str,
        *,
        reverse_directions: Mapping[str, str] = DEFAULT_REVERSE_DIRECTIONS,
        stale_after_s: float = 5.0,
        poll_s: float = 0.1,
        clock: Clock = utcnow,
    ) -> None:
        self._url = database_url
        self._engine: Engine | None = None
        self._reverse_directions = dict(reverse_directions)
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

    def _row(self, row: LagRow) -> dict[str, Any]:
        measured = as_utc(row.measured_at)
        return {
            "lag_ms": round(row.lag_ms, 1),
            "backlog": row.backlog,
            "dead": row.dead,
            "measured_at": measured.isoformat(),
            "stale": (self._clock() - measured).total_seconds() > self._stale_after_s,
        }

    def snapshot(self) -> dict[str, dict[str, Any] | None]:
        """``{"forward": {...} | None, "reverse": {...} | None, "reverse:orders": {...}, ...}``.

        ``forward`` and ``reverse`` are always there (None while unknown); every other direction a
        relay has recorded follows, by name.
        """
        rows = read_lag(self._db())
        names = sorted(set(DIRECTIONS) | set(rows), key=_order)
        return {name: (self._row(rows[name]) if name in rows else None) for name in names}

    def rows(self) -> dict[str, LagRow]:
        """Every direction's row as the relays last stored it (no freshness judged here)."""
        return read_lag(self._db())

    def reverse_directions_for(self, upstream: str | None) -> tuple[str, ...] | None:
        """The reverse direction(s) carrying ``upstream``'s writes; None means every reverse direction."""
        direction = self._reverse_directions.get(upstream or "")
        return (direction,) if direction else None

    def reverse_backlogs(self, directions: Iterable[str] | None = None) -> dict[str, int]:
        """Backlog per known reverse direction (only ``directions`` when given; unknown ones are left out)."""
        rows = read_lag(self._db())
        wanted = set(directions) if directions is not None else None
        return {
            name: rows[name].backlog
            for name in sorted(rows, key=_order)
            if is_reverse(name) and (wanted is None or name in wanted)
        }

    def reverse_backlog(self) -> int | None:
        """The catalog's reverse backlog (the ``reverse`` row), None when unknown."""
        return self.reverse_backlogs(("reverse",)).get("reverse")
