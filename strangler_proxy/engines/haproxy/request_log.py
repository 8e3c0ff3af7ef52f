"""The engine's per-route figures, from HAProxy's own log line of every request.

HAProxy writes one line per finished request into a ring buffer that it forwards to the agent over one
loopback TCP connection (``log-format`` and the ``ring`` section of the rendered configuration)::

    <route> <side> <backend> <server> <status> <total ms> <retries> <termination state>

and the agent folds them, per second, into the rows of ``route_stats`` the data plane writes: the
guards read both alike. The p99 the guards judge comes from ``%Ta`` (from the first byte of the
request to the last of the answer, whole milliseconds) put in the store's latency buckets. A GET that
fell back to the legacy counts, like the data plane's, as a failure on the new side (502 after a
failed try, 503 when the new side was marked down) and an answer on the legacy side. A request the
engine refused before routing it (a bad path) has no route and is left out, as the data plane leaves
it out.

The lines arrive in batches, so the agent spends a few microseconds per request. When it cannot keep
up, the ring overwrites its oldest lines: the figures then count a sample of the requests (rates and
percentiles stay right, totals are low); HAProxy's Prometheus endpoint has the exact per-backend counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS

__all__ = ["LogStream", "RouteSecond", "SecondStats"]

logger = logging.getLogger(__name__)
_SIDES = frozenset({"legacy", "new"})
_FAILED_TRY = 502
"""The new side failed a try (a connection or a 5xx answer) and the legacy answered instead."""
_MARKED_DOWN = 503
"""The new side was marked down (the breaker): the legacy answered without a try."""


@dataclass(slots=True)
class RouteSecond:
    """Counts of one (second, route, target): by status class, latency sum and histogram."""

    by_class: list[int] = field(default_factory=lambda: [0] * 6)
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_MS))

    def add(self, status: int, duration_ms: float) -> None:
        self.by_class[status // 100 if 100 <= status < 600 else 5] += 1
        self.latency_sum_ms += duration_ms
        self.buckets[bisect_left(LATENCY_BUCKETS_MS, duration_ms)] += 1

    @property
    def requests(self) -> int:
        return sum(self.by_class)


class SecondStats:
    """Per-second windows of (route, target); ``drain`` hands over the completed seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[int, dict[tuple[str, str], RouteSecond]] = {}
        self.lines = 0
        self.malformed = 0

    def record(
        self, route: str, target: str, status: int, duration_ms: float, second: int | None = None
    ) -> None:
        window = self._windows.setdefault(int(self._clock()) if second is None else second, {})
        counts = window.get((route, target))
        if counts is None:
            counts = window[(route, target)] = RouteSecond()
        counts.add(status, duration_ms)

    def line(self, text: str) -> None:
        """One HAProxy log line (see the module docstring)."""
        self.lines_of([text])

    def lines_of(self, texts: list[str]) -> None:
        """A batch of log lines, all counted in the current second."""
        second = int(self._clock())
        record = self.record
        for text in texts:
            self.lines += 1
            parts = text.split(" ", 7)
            if len(parts) < 7:
                self.malformed += 1
                continue
            route, side, _backend, server, status_text, total_text, retries_text = parts[:7]
            if side not in _SIDES:
                continue  # refused before routing
            try:
                status = int(status_text)
                total = max(0.0, float(total_text))
                retries = int(retries_text.lstrip("+"))
            except ValueError:
                self.malformed += 1
                continue
            if side == "new" and server == "legacy":
                # a GET/HEAD of a route that falls back: the new side failed, the legacy answered
                record(route, "new", _FAILED_TRY if retries else _MARKED_DOWN, total, second)
                side = "legacy"
            record(route, side, status, total, second)

    def drain(self, *, include_current: bool = False) -> list[tuple[int, str, str, RouteSecond]]:
        """Remove and return (second, route, target, counts) of every completed second."""
        now = int(self._clock())
        rows = []
        for second in sorted(s for s in self._windows if s < now or include_current):
            for (route, target), counts in self._windows.pop(second).items():
                rows.append((second, route, target, counts))
        return rows


class LogStream(asyncio.Protocol):
    """One connection of HAProxy's ring forwarder: newline-separated lines (``format raw``)."""

    def __init__(self, stats: SecondStats) -> None:
        self._stats = stats
        self._rest = b""

    def data_received(self, data: bytes) -> None:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        if lines:
            self._stats.lines_of([line.decode("utf-8", "replace") for line in lines if line])

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            logger.warning("engine log connection lost: %s", exc)
