"""PostgreSQL LISTEN/NOTIFY for route-table swaps: the control plane sends ``NOTIFY
strangler_route_table, '<generation>'`` on every swap; a worker listening on its own connection (in a
daemon thread, with reconnects) wakes its poller at once, and the poll remains the fallback.

    listener = ChangeListener(url, on_change=poller.wake_threadsafe)
    listener.start()   # ... listener.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["NOTIFY_CHANNEL", "ChangeListener"]

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "strangler_route_table"
_RECONNECT_S = (0.2, 0.5, 1.0, 2.0, 5.0)
_WAIT_S = 0.5
"""How long one wait for notifications lasts before the stop flag is looked at again."""


def postgres_conninfo(url: str) -> str:
    """``postgresql+driver://...`` (SQLAlchemy style) as a libpq URL."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if "+" in scheme or scheme == "postgres" else url


class ChangeListener:
    """Calls ``on_change`` (from its own thread) on each notification, and once after each
    (re)connection so that a swap made while it was away is not missed."""

    def __init__(self, url: str, on_change: Callable[[], None], *, channel: str = NOTIFY_CHANNEL) -> None:
        self._conninfo = postgres_conninfo(url)
        self._on_change = on_change
        self._channel = channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = False
        self.notifications = 0
        self.connections = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="route-table-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg  # PostgreSQL stores only

        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f'LISTEN "{self._channel}"')
                    self.listening = True
                    self.connections += 1
                    failures = 0
                    self._on_change()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=_WAIT_S):
                            self.notifications += 1
                            self._on_change()
            except Exception as exc:
                if self.listening or failures == 0:
                    logger.warning("LISTEN %s lost (%s); polling meanwhile, reconnecting", self._channel, exc)
                self.listening = False
                delay = _RECONNECT_S[min(failures, len(_RECONNECT_S) - 1)]
                failures += 1
                self._stop.wait(delay)
        self.listening = False
