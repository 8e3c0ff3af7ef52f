"""Live figures for the routes page: one JSON snapshot a second, shared by every open page.

A snapshot holds, per route, the last few complete seconds summed over data-plane workers (requests/s,
5xx rate, p50/p99 for legacy and new side by side, shadow parity) and the last minute one point a
second for the charts. The current second and the one before are left out: data-plane workers flush
their counters about once a second, so those seconds are still filling up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from strangler_proxy.controlplane.metrics import Window
from strangler_proxy.controlplane.repositories import shadow as shadow_repo
from strangler_proxy.controlplane.repositories import stats as stats_repo
from strangler_proxy.controlplane.repositories import versions as versions_repo

__all__ = ["LiveFeed", "build_snapshot"]

SIDES = ("legacy", "new")
SETTLE_S = 1
"""Seconds at the end left out because workers are still flushing them."""


def _side_figures(window: Window | None, seconds: int) -> dict[str, float | None]:
    if window is None or window.requests == 0:
        return {"rps": 0.0, "error_rate": None, "p50": None, "p99": None}
    error_rate = window.error_rate
    return {
        "rps": round(window.requests / seconds, 2),
        "error_rate": None if error_rate is None else round(100 * error_rate, 3),
        "p50": _round(window.p(0.50)),
        "p99": _round(window.p(0.99)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def build_snapshot(
    engine: Engine,
    *,
    now: int,
    window_s: int = 5,
    history_s: int = 60,
    guard_states: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The snapshot for whole second ``now`` (Unix time), read in one transaction."""
    until = now - SETTLE_S
    since_history = until - history_s
    since_window = until - window_s
    with engine.connect() as conn:
        pointer = versions_repo.active_pointer(conn)
        seconds_rows = stats_repo.per_second(conn, since=since_history, until=until)
        shadow = shadow_repo.summary(conn, since=since_window, until=until)

    window: dict[tuple[str, str], Window] = {}
    for (route, target, second), w in seconds_rows.items():
        if second >= since_window:
            total = window.setdefault((route, target), Window())
            _merge(total, w)
    names = {route for route, _target in window} | {route for route, _t, _s in seconds_rows} | set(shadow)
    routes: dict[str, Any] = {}
    for name in sorted(names):
        parity = shadow[name].parity if name in shadow else None
        routes[name] = {side: _side_figures(window.get((name, side)), window_s) for side in SIDES} | {
            "parity": None if parity is None else round(100 * parity, 2),
            "guard": (guard_states or {}).get(name),
        }
    for name, state in (guard_states or {}).items():
        routes.setdefault(name, {side: _side_figures(None, window_s) for side in SIDES} | {"parity": None})
        routes[name]["guard"] = state

    seconds = list(range(since_history, until))
    series: dict[str, dict[str, list[float | None]]] = {}
    for name in names:
        data: dict[str, list[float | None]] = {}
        for side in SIDES:
            per = [seconds_rows.get((name, side, s)) for s in seconds]
            data[f"{side}_rps"] = [0 if w is None else w.requests for w in per]
            data[f"{side}_p99"] = [None if w is None else _round(w.p(0.99)) for w in per]
            data[f"{side}_error_rate"] = [
                None if w is None or not w.requests else round(100 * w.status_5xx / w.requests, 2)
                for w in per
            ]
        series[name] = data
    return {
        "now": now,
        "version": None if pointer is None else pointer.version_id,
        "generation": None if pointer is None else pointer.generation,
        "window_s": window_s,
        "routes": routes,
        "series": {"seconds": seconds, "routes": series},
    }


def _merge(total: Window, other: Window) -> None:
    total.requests += other.requests
    total.status_2xx += other.status_2xx
    total.status_3xx += other.status_3xx
    total.status_4xx += other.status_4xx
    total.status_5xx += other.status_5xx
    total.latency_sum_ms += other.latency_sum_ms
    for index, count in enumerate(other.buckets):
        total.buckets[index] += count


@dataclass
class _Cached:
    second: int
    snapshot: dict[str, Any]


class LiveFeed:
    """Computes at most one snapshot per second however many pages are open."""

    def __init__(
        self,
        engine: Engine,
        *,
        guard_states: Callable[[], Mapping[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._guard_states = guard_states
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _Cached | None = None

    async def snapshot(self) -> dict[str, Any]:
        second = int(self._clock())
        async with self._lock:
            if self._cached is None or self._cached.second != second:
                states = self._guard_states() if self._guard_states is not None else None
                snap = await run_in_threadpool(build_snapshot, self._engine, now=second, guard_states=states)
                self._cached = _Cached(second, snap)
            return self._cached.snapshot
