"""Per-request accounting for one worker: cumulative totals (Prometheus) and per-second windows (store).

Recording appends one tuple on the request path; the tuples are folded into the totals and the
per-second windows in batches (when the background tasks read ``totals`` or ``drain`` the completed
seconds, at least once a second, or inline when ``_FOLD_AT`` are pending), off the request path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS

__all__ = ["LATENCY_BUCKETS_MS", "Accumulator", "RequestStats", "SecondRow", "StatsKey"]

StatsKey = tuple[str, str]
"""(route, target)"""

_BOUNDS = LATENCY_BUCKETS_MS
_NBUCKETS = len(_BOUNDS)


@dataclass(slots=True)
class Accumulator:
    """Counts by status class (index = status // 100), latency sum and per-bucket counts (not cumulative)."""

    by_class: list[int] = field(default_factory=lambda: [0] * 6)
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * _NBUCKETS)

    def add(self, status_class: int, duration_ms: float, bucket: int) -> None:
        self.by_class[status_class] += 1
        self.latency_sum_ms += duration_ms
        self.buckets[bucket] += 1

    @property
    def requests(self) -> int:
        return sum(self.by_class)


@dataclass(frozen=True, slots=True)
class SecondRow:
    second: int
    route: str
    target: str
    accumulator: Accumulator


_FOLD_AT = 50_000
"""Pending records folded inline beyond this many, so memory stays bounded if the flush task lags."""


class RequestStats:
    """In-memory accounting of one worker; not thread-safe (one event loop owns it)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._totals: dict[StatsKey, Accumulator] = {}
        self.in_flight: dict[StatsKey, int] = {}
        self._windows: dict[int, dict[StatsKey, Accumulator]] = {}
        self._pending: list[tuple[StatsKey, int, float, float]] = []
        self.refused: dict[tuple[int, str], int] = {}
        """Requests the proxy refused before any route saw them, by (status, reason)."""
        self.sockets_open: dict[StatsKey, int] = {}
        """Relayed WebSockets open now, by (route, target)."""
        self.sockets_closed: dict[tuple[str, str, str], int] = {}
        """Relayed WebSockets ended, by (route, target, outcome)."""
        self.socket_bytes: dict[tuple[str, str, str], int] = {}
        """Bytes relayed by WebSockets, by (route, target, direction): ``up`` (client to upstream) or
        ``down``; counted when a socket ends."""

    @property
    def totals(self) -> dict[StatsKey, Accumulator]:
        """Cumulative counts per (route, target), every record so far included."""
        self._fold()
        return self._totals

    def started(self, key: StatsKey) -> None:
        self.in_flight[key] = self.in_flight.get(key, 0) + 1

    def finished(self, key: StatsKey, status: int, duration_s: float) -> None:
        self.in_flight[key] -= 1
        self.record(key, status, duration_s)

    def record(self, key: StatsKey, status: int, duration_s: float) -> None:
        """Count one answer (or one failed attempt) without touching the in-flight gauge."""
        pending = self._pending
        pending.append((key, status, duration_s, self._clock()))
        if len(pending) >= _FOLD_AT:
            self._fold()

    def refuse(self, status: int, reason: str) -> None:
        """Count a request the proxy answered itself before routing it (``reason`` a short code)."""
        key = (status, reason)
        self.refused[key] = self.refused.get(key, 0) + 1

    def socket_opened(self, key: StatsKey) -> None:
        self.sockets_open[key] = self.sockets_open.get(key, 0) + 1

    def socket_closed(self, key: StatsKey, outcome: str, bytes_up: int, bytes_down: int) -> None:
        route, target = key
        self.sockets_open[key] -= 1
        closed = (route, target, outcome)
        self.sockets_closed[closed] = self.sockets_closed.get(closed, 0) + 1
        for direction, count in (("up", bytes_up), ("down", bytes_down)):
            name = (route, target, direction)
            self.socket_bytes[name] = self.socket_bytes.get(name, 0) + count

    def _fold(self) -> None:
        pending, self._pending = self._pending, []
        totals = self._totals
        windows = self._windows
        for key, status, duration_s, when in pending:
            duration_ms = duration_s * 1000.0
            bucket = bisect_left(_BOUNDS, duration_ms)
            status_class = status // 100 if 100 <= status < 600 else 5
            total = totals.get(key)
            if total is None:
                total = totals[key] = Accumulator()
            second = int(when)
            window = windows.get(second)
            if window is None:
                window = windows[second] = {}
            acc = window.get(key)
            if acc is None:
                acc = window[key] = Accumulator()
            # Accumulator.add, twice, without the calls (this loop runs once per request)
            total.by_class[status_class] += 1
            total.latency_sum_ms += duration_ms
            total.buckets[bucket] += 1
            acc.by_class[status_class] += 1
            acc.latency_sum_ms += duration_ms
            acc.buckets[bucket] += 1

    def drain(self, *, include_current: bool = False) -> list[SecondRow]:
        """Remove and return the rows of every completed second (and the current one when asked)."""
        self._fold()
        now = int(self._clock())
        done = [s for s in self._windows if s < now or include_current]
        rows = []
        for second in sorted(done):
            for (route, target), acc in self._windows.pop(second).items():
                rows.append(SecondRow(second, route, target, acc))
        return rows
