"""The engine's per-route figures, from HAProxy's own log line of every request.

HAProxy sends one line per finished request over UDP to the agent (``log-format`` in the rendered
configuration)::

    <route> <side> <backend> <server> <status> <total ms> <retries> <termination state>

and the agent folds them, per second, into the rows of ``route_stats`` the data plane writes: the
guards read both alike. The p99 the guards judge comes from ``%Ta`` (from the first byte of the
request to the last of the answer, whole milliseconds) put in the store's latency buckets. A GET that
fell back to the legacy counts, like the data plane's, as a failure on the new side (502 after a
failed try, 503 when the new side was marked down) and an answer on the legacy side. A request the
engine refused before routing it (a bad path) has no route and is left out, as the data plane leaves
it out.

When the agent cannot keep up, the kernel drops datagrams: the figures then count a sample of the
requests (rates and percentiles stay right, totals are low); HAProxy's Prometheus endpoint has the
exact per-backend counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS

__all__ = ["LogReceiver", "RouteSecond", "SecondStats"]

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

    def record(self, route: str, target: str, status: int, duration_ms: float) -> None:
        second = int(self._clock())
        window = self._windows.setdefault(second, {})
        counts = window.get((route, target))
        if counts is None:
            counts = window[(route, target)] = RouteSecond()
        counts.add(status, duration_ms)

    def line(self, text: str) -> None:
        """One HAProxy log line (see the module docstring)."""
        self.lines += 1
        parts = text.split()
        if len(parts) < 7:
            self.malformed += 1
            return
        route, side, _backend, server, status_text, total_text, retries_text = parts[:7]
        if side not in _SIDES:
            return  # refused before routing
        try:
            status = int(status_text)
            total = max(0.0, float(total_text))
            retries = int(retries_text.lstrip("+"))
        except ValueError:
            self.malformed += 1
            return
        if side == "new" and server == "legacy":
            # a GET/HEAD of a route that falls back: the new side failed, the legacy answered
            self.record(route, "new", _FAILED_TRY if retries else _MARKED_DOWN, total)
            side = "legacy"
        self.record(route, side, status, total)

    def drain(self, *, include_current: bool = False) -> list[tuple[int, str, str, RouteSecond]]:
        """Remove and return (second, route, target, counts) of every completed second."""
        now = int(self._clock())
        rows = []
        for second in sorted(s for s in self._windows if s < now or include_current):
            for (route, target), counts in self._windows.pop(second).items():
                rows.append((second, route, target, counts))
        return rows


class LogReceiver(asyncio.DatagramProtocol):
    """The UDP endpoint HAProxy logs to (``format raw``: one line per datagram, no syslog header)."""

    def __init__(self, stats: SecondStats) -> None:
        self._stats = stats

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            if line:
                self._stats.line(line)

    def error_received(self, exc: Exception) -> None:
        logger.warning("engine log socket: %s", exc)
