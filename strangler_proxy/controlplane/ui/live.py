"""Live figures for the routes page: one JSON snapshot a second, shared by every open page.

A snapshot holds, per route, the last few seconds summed over data-plane workers (requests/s, 5xx
rate in percent, p50/p99 for legacy and new side by side, shadow parity in percent, guard status)
and the last minute, one point a second, for the charts; and the data sync lag per direction.
The figures come from the service layer
(ObservabilityService, GuardService); this module only shapes them for the page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.clock import utcnow
from strangler_proxy.controlplane.service_layer.guards import GuardService
from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
from strangler_proxy.controlplane.service_layer.sync_lag import SyncLagService
from strangler_proxy.controlplane.service_layer.table_queries import RouteTableQueries
from strangler_proxy.routes import RouteTable

__all__ = ["LiveFeed", "LiveSources", "SettledSources", "build_snapshot", "settled_sources"]

SIDES = ("legacy", "new")
UNMATCHED = "-"
SETTLE_S = 1.0
PARITY_WINDOW_S = 300
"""Parity is shown over the last five minutes on every page (the routes table and the Shadow page)."""


class LiveSources(Protocol):
    """The parts of the service layer a snapshot reads."""

    @property
    def tables(self) -> RouteTableQueries: ...
    @property
    def observability(self) -> ObservabilityService: ...
    @property
    def guards(self) -> GuardService: ...
    @property
    def sync_lag(self) -> SyncLagService | None: ...


@dataclass(frozen=True)
class SettledSources:
    tables: RouteTableQueries
    observability: ObservabilityService
    guards: GuardService
    sync_lag: SyncLagService | None = None


def settled_sources(services: ControlPlaneServices, *, settle_s: float = SETTLE_S) -> SettledSources:
    """The services, with figures read as of ``settle_s`` ago: data-plane workers flush each second's
    counters about a second after it ends, so the newest second is left out rather than shown short."""
    observability = ObservabilityService(services.engine, seconds=lambda: time.time() - settle_s)
    return SettledSources(services.tables, observability, services.guards, services.sync_lag)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 3)


def _side(figures: dict[str, Any]) -> dict[str, float | None]:
    return {
        "rps": figures.get("rps") or 0.0,
        "error_rate": _percent(figures.get("error_rate")),
        "p50": figures.get("p50_ms"),
        "p99": figures.get("p99_ms"),
    }


def _guard_states(sources: LiveSources, table: RouteTable) -> dict[str, dict[str, Any]]:
    """Each route's guard status, with a short detail: failing windows so far and the last reasons."""
    states = {}
    for entry in sources.guards.overview(table):
        needed = entry.get("settings", {}).get("failing_windows")
        failures = entry.get("consecutive_failures", 0)
        evidence = entry.get("evidence") or []
        reasons = evidence[-1].get("reasons", []) if evidence else []
        detail = f"{failures}/{needed} failing windows" if needed else ""
        if reasons:
            detail += ": " + "; ".join(reasons)
        states[entry["route"]] = {
            "status": entry["status"],
            "failures": failures,
            "needed": needed,
            "detail": detail,
        }
    return states


def _workers(sources: LiveSources, active: int, now: datetime) -> dict[str, Any]:
    """Data-plane workers heard from lately, how many of them serve the active version, and the stale
    ones (silent: cut off from the store or dead) with what they serve, never dropped from the view."""
    alive = current = 0
    stale: list[str] = []
    hosts: set[str] = set()
    for worker in sources.observability.workers(now=now)["workers"]:
        hosts.add(worker["instance"])
        if worker["state"] == "stale":
            stale.append(f"{worker['worker']}: {worker['detail']}")
            continue
        alive += 1
        current += worker["version"] == active
    return {"alive": alive, "current": current, "stale": stale, "instances": len(hosts)}


def build_snapshot(
    sources: LiveSources, *, window_s: int = 5, history_s: int = 60, now: datetime | None = None
) -> dict[str, Any]:
    """Figures for every rule of the active table and the unmatched traffic (blocking: call off the loop)."""
    pointer, record = sources.tables.active()
    table = record.table
    guards = _guard_states(sources, table)
    # Parity over the Shadow page's window, so both pages show the same figure for a route.
    parities = sources.observability.parity(window_s=PARITY_WINDOW_S)
    routes: dict[str, Any] = {}
    for entry in sources.observability.route_figures(table, window_s=window_s):
        name = entry["route"]
        guard = guards.get(name) or {}
        sides = {side: _side(entry[side]) for side in SIDES}
        if entry["mode"] == "shadow":
            sides["new"] = _side(entry["mirrored"])  # what the new side answered to the mirrors
        routes[name] = sides | {
            "parity": _percent(parities.get(name)),
            "guard": guard.get("status"),
            "guard_detail": guard.get("detail"),
            "guard_failures": guard.get("failures"),
            "guard_needed": guard.get("needed"),
        }
    series: dict[str, dict[str, list[float | None]]] = {}
    seconds: list[int] = []
    for name in [r.name for r in table.rules] + [UNMATCHED]:
        points = sources.observability.series(name, seconds=history_s)
        seconds = [p["second"] for p in points]
        data: dict[str, list[float | None]] = {}
        for side in SIDES:
            data[f"{side}_rps"] = [p[side]["requests"] for p in points]
            data[f"{side}_p99"] = [p[side]["p99_ms"] for p in points]
            data[f"{side}_error_rate"] = [_percent(p[side]["error_rate"]) for p in points]
        data["shadow_parity"] = [_percent(p["shadow"]["parity"]) for p in points]
        series[name] = data
    return {
        "now": seconds[-1] + 1 if seconds else int(time.time()),
        "version": pointer.version_id,
        "workers": _workers(sources, pointer.version_id, now or utcnow()),
        "generation": pointer.generation,
        "window_s": window_s,
        "routes": routes,
        "sync_lag": sources.sync_lag.snapshot() if sources.sync_lag is not None else None,
        "series": {"seconds": seconds, "routes": series},
    }


@dataclass
class _Cached:
    second: int
    snapshot: dict[str, Any]


class LiveFeed:
    """Computes at most one snapshot per second however many pages are open."""

    def __init__(self, sources: LiveSources, *, clock: Callable[[], float] = time.time) -> None:
        self._sources = sources
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _Cached | None = None

    async def snapshot(self) -> dict[str, Any]:
        second = int(self._clock())
        async with self._lock:
            if self._cached is None or self._cached.second != second:
                snap = await run_in_threadpool(build_snapshot, self._sources)
                self._cached = _Cached(second, snap)
            return self._cached.snapshot
