"""The loop every sync worker runs: a step until SIGTERM or SIGINT, a health endpoint, and the direction's
lag stored in ``sync_lag`` every second (each pipeline's workers run in it too)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from acl.sync.core.lag import DirectionLag, store_lag
from acl.sync.workers.health import Heartbeat, serve_health

__all__ = [
    "HOUSEKEEPING_INTERVAL",
    "LAG_INTERVAL",
    "STREAM_RETENTION",
    "LagRecorder",
    "run_loop",
    "stop_on_signals",
]

log = logging.getLogger("acl.sync")

LAG_INTERVAL = 1.0
"""Seconds between the relays' updates of the ``sync_lag`` table."""
HOUSEKEEPING_INTERVAL = 60.0
STREAM_RETENTION = timedelta(hours=1)
"""Acknowledged events stay in the SQL stream this long (for inspection), then the relay prunes them."""


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_loop(step: Callable[[], int], stop: threading.Event, *, idle: float, health_port: int | None) -> None:
    """Call ``step`` until ``stop``; sleep ``idle`` when it found nothing; a failure is logged and retried."""
    heartbeat = Heartbeat()
    server = serve_health(health_port, heartbeat) if health_port else None
    try:
        while not stop.is_set():
            try:
                done = step()
            except Exception:
                log.exception("sync step failed; retrying in 1 s")
                stop.wait(1.0)
                continue
            heartbeat.beat()
            if not done:
                stop.wait(idle)
    finally:
        if server is not None:
            server.shutdown()


class LagRecorder:
    """Wraps a relay step: every second, stores the direction's lag in ``sync_lag``; every minute, runs
    ``housekeeping`` (the forward relay prunes the stream of what every consumer has acknowledged)."""

    def __init__(
        self,
        step: Callable[[], int],
        measure: Callable[[], DirectionLag],
        engine: Engine,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:
        self._step, self._measure, self._engine = step, measure, engine
        self._housekeeping = housekeeping
        self._next_lag = self._next_housekeeping = 0.0

    def __call__(self) -> int:
        done = self._step()
        now = time.monotonic()
        if now >= self._next_lag:
            self._next_lag = now + LAG_INTERVAL
            store_lag(self._engine, [self._measure()])
        if self._housekeeping is not None and now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_INTERVAL
            self._housekeeping()
        return done
