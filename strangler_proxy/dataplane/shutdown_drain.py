"""Graceful shutdown without the keep-alive race.

uvicorn's graceful shutdown closes every idle kept-alive connection at once. A client that has just
sent its next request on one of them (the bytes are on their way, not yet read) then sees the
connection end with no answer: it cannot tell whether the request was served, and a careful client
does not retry a POST. Under steady traffic a worker restarted by SIGTERM loses such a request now
and then (a data-plane worker restart at 5,000 requests/s through 32 connections did).

Here an idle connection is drained instead: it stays open for ``drain_s``; a request that arrives
meanwhile is served and answered with ``Connection: close`` (so the client opens a new connection,
which another worker accepts), and a connection still idle at the end of the window is closed. A
request in progress at shutdown is answered with ``Connection: close`` as uvicorn does. uvicorn's
shutdown waits for these connections like any other (``timeout_graceful_shutdown``).
"""

from __future__ import annotations

from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DEFAULT_DRAIN_S", "DrainOnShutdown"]

DEFAULT_DRAIN_S = 1.0
"""Long enough for a request already sent on a kept-alive connection to arrive, even across a slow
network, and short enough not to hold up a restart."""


class DrainOnShutdown(HttpToolsProtocol):
    """uvicorn's protocol whose idle connections drain, rather than close, at shutdown."""

    def __init__(self, *args: Any, drain_s: float = DEFAULT_DRAIN_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drain_s = drain_s
        self._drain_timer: TimerHandle | None = None
        self.draining = False
        """True once shutdown began: every answer from then on closes the connection."""

    def shutdown(self) -> None:
        """Called by uvicorn's server to begin a graceful shutdown."""
        self.draining = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        if self.transport.is_closing():
            return
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        self._drain_timer = self.loop.call_later(self._drain_s, self._end_drain)

    def _end_drain(self) -> None:
        self._drain_timer = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False  # a request arrived: its answer closes the connection
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        super().connection_lost(exc)
