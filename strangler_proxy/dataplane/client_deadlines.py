"""The front door's deadlines for slow clients, per connection: headers complete ``header_timeout_s``
after the request (or connection) began; while a body is incomplete, a byte at least every
``body_idle_timeout_s`` and on average ``min_body_bytes_per_s``; else 408 and the connection closes.

One lazy timer per connection: arming a phase only moves ``_deadline``; the timer is replaced only when
the new deadline is earlier than the pending one. When it fires before the deadline (the deadline
moved on, as it does for every request on a keep-alive connection) it re-arms itself for the rest;
when the connection is idle it simply ends. So a request costs two ``loop.time()`` reads instead of
creating and cancelling two timers.
"""

from __future__ import annotations

from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any

from strangler_proxy.dataplane.shutdown_drain import DrainOnShutdown

__all__ = ["ClientDeadlines", "ProtocolLimits"]


@dataclass(frozen=True)
class ProtocolLimits:
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    body_idle_timeout_s: float = 30.0
    min_body_bytes_per_s: int = 1024


class ClientDeadlines(DrainOnShutdown):
    """uvicorn's httptools protocol with the deadlines above; the protocol that refuses says how
    (``_send_refusal``)."""

    def __init__(self, *args: Any, limits: ProtocolLimits = ProtocolLimits(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._timer: TimerHandle | None = None
        self._timer_at = 0.0
        self._deadline = 0.0
        self._phase = "headers"
        self._last_body = 0.0
        self._body_start = 0.0
        self._body_bytes = 0

    def _send_refusal(self, status: int, reason: str, message: str) -> None:
        raise NotImplementedError

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, deadline: float) -> None:
        self._deadline = deadline
        if self._timer is None or self._timer_at > deadline:
            self._disarm()
            self._timer = self.loop.call_at(deadline, self._tick)
            self._timer_at = deadline

    def _tick(self) -> None:
        self._timer = None
        if self._phase == "idle":
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._tick)
            self._timer_at = self._deadline
            return
        self._expired()

    def _arm_headers(self) -> None:
        self._phase = "headers"
        self._schedule(self.loop.time() + self._limits.header_timeout_s)

    def _arm_body(self) -> None:
        self._phase = "body"
        self._last_body = self._body_start = now = self.loop.time()
        self._body_bytes = 0
        self._schedule(now + self._limits.body_idle_timeout_s)

    def _expired(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self._phase == "body":
            now = self.loop.time()
            if self.flow.read_paused:
                # The proxy itself stopped reading (upstream backpressure): the client is not to blame.
                self._last_body = self._body_start = now
                self._body_bytes = 0
                self._schedule(now + self._limits.body_idle_timeout_s)
                return
            idle = now - self._last_body
            rate = self._body_bytes / max(now - self._body_start, 1e-6)
            if idle < self._limits.body_idle_timeout_s and rate >= self._limits.min_body_bytes_per_s:
                self._schedule(now + self._limits.body_idle_timeout_s)
                return
        self.logger.warning("closing a connection whose request %s did not arrive in time", self._phase)
        cycle = self.cycle  # in the headers phase: the previous request's, if any
        if (
            cycle is None
            or not cycle.response_started
            or (self._phase == "headers" and cycle.response_complete)
        ):
            self._send_refusal(
                408, f"{self._phase}_timeout", f"the request {self._phase} did not arrive in time"
            )
        else:
            self.transport.close()
