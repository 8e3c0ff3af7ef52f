"""Two connections joined after an upstream's 101: bytes pass untouched both ways until one side closes.

    client transport ──ClientSide──► Relay ──► upstream transport      (bytes_up)
    client transport ◄── Relay ◄──UpstreamSide── upstream transport    (bytes_down)

Each side is a plain asyncio protocol writing straight into the other side's transport: no task, no
queue, no copy per chunk. Back-pressure goes through the transports (a side whose writes pile up
pauses reading on the other). Frames are never decoded, so subprotocols and extensions
(permessage-deflate included) are whatever the client and the upstream agreed on; only the frame
headers are followed (:class:`~.frames.FrameCursor`), so that the relay can close a socket itself
with a Close frame between two frames: 1012 when a rollback moved the route, 1001 when the worker
stops or the socket sat idle for the idle timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from strangler_proxy.dataplane.websocket.frames import FrameCursor, close_frame

__all__ = ["CLOSE_WAIT_S", "ClientSide", "Relay", "UpstreamSide"]

CLOSE_WAIT_S = 1.0
"""After the relay sent its Close frames: how long the peers have to answer before the connections
are closed anyway."""
BOUNDARY_WAIT_S = 2.0
"""How long a close waits for a frame in flight to end before it cuts the connections."""


class Relay:
    """One relayed WebSocket. ``done`` resolves with the outcome: ``client_closed`` or
    ``upstream_closed`` (the side that sent the first Close frame, else the side that hung up),
    ``idle_timeout``, or the outcome given to :meth:`close`."""

    def __init__(self, *, idle_timeout_s: float, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle_timeout_s = idle_timeout_s
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.bytes_up = 0
        self.bytes_down = 0
        self.done: asyncio.Future[str] = loop.create_future()
        self._up = FrameCursor()
        self._down = FrameCursor()
        self._last = loop.time()
        self._idle = loop.call_later(idle_timeout_s, self._check_idle)
        self._closing: tuple[int, str, str] | None = None
        self._client_told = False
        self._upstream_told = False
        self._deadline: asyncio.TimerHandle | None = None
        self._closed_first: str | None = None

    # --- wiring -------------------------------------------------------------------------------
    def start(
        self, client: asyncio.Transport, upstream: asyncio.Transport, client_tail: bytes, upstream_tail: bytes
    ) -> None:
        """Join the two transports; the tails are bytes each side sent right after the handshake."""
        self.client, self.upstream = client, upstream
        if client_tail:
            self.from_client(client_tail)
        if upstream_tail:
            self.from_upstream(upstream_tail)
        client.resume_reading()
        upstream.resume_reading()

    # --- bytes --------------------------------------------------------------------------------
    def from_client(self, data: bytes) -> None:
        if self._upstream_told or self.upstream is None:
            self._up.feed(data)  # the client's answer to our Close frame: followed, not relayed
            if self._client_told and self._up.closed:
                self._finish(self._closing[2] if self._closing else "client_closed")
            return
        self._last = self._loop.time()
        if self._closing is None:
            self._up.feed(data)
            self.bytes_up += len(data)
            self.upstream.write(data)
            if self._up.closed and self._closed_first is None:
                self._closed_first = "client"
            return
        used = self._up.feed_to_boundary(data)
        self.bytes_up += used
        self.upstream.write(data[:used])
        self._tell_upstream()
        if self._upstream_told and used < len(data):
            self.from_client(data[used:])  # what the client sent after that frame: followed only

    def from_upstream(self, data: bytes) -> None:
        if self._client_told or self.client is None:
            return  # after the relay's Close frame to the client nothing more goes its way
        self._last = self._loop.time()
        if self._closing is None:
            self._down.feed(data)
            self.bytes_down += len(data)
            self.client.write(data)
            if self._down.closed and self._closed_first is None:
                self._closed_first = "upstream"
            return
        used = self._down.feed_to_boundary(data)
        self.bytes_down += used
        self.client.write(data[:used])
        self._tell_client()

    # --- closing ------------------------------------------------------------------------------
    def close(self, code: int, reason: str, outcome: str) -> None:
        """Close both sides with a Close frame (``code``, ``reason``) each, placed between frames."""
        if self._closing is not None or self.done.done():
            return
        self._closing = (code, reason, outcome)
        self._deadline = self._loop.call_later(BOUNDARY_WAIT_S + CLOSE_WAIT_S, self._finish, outcome)
        self._tell_client()
        self._tell_upstream()

    def _tell_client(self) -> None:
        if self._client_told or self._closing is None or self.client is None or not self._down.at_boundary:
            return
        self._client_told = True
        self.client.write(close_frame(self._closing[0], self._closing[1], masked=False))
        self._maybe_done()

    def _tell_upstream(self) -> None:
        if self._upstream_told or self._closing is None or self.upstream is None or not self._up.at_boundary:
            return
        self._upstream_told = True
        self.upstream.write(close_frame(1001, "the client is going away", masked=True))
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self._client_told and self._upstream_told and self._closing is not None:
            self._loop.call_later(CLOSE_WAIT_S, self._finish, self._closing[2])

    def _check_idle(self) -> None:
        idle_until = self._last + self._idle_timeout_s
        if self._loop.time() >= idle_until:
            self.close(1001, "idle timeout", "idle_timeout")
        else:
            self._idle = self._loop.call_at(idle_until, self._check_idle)

    def lost(self, side: str) -> None:
        """One side's connection is gone: the other is closed (its pending writes flushed first)."""
        if self._closing is not None:
            self._finish(self._closing[2])
        else:  # whoever sent the first Close frame closed it; without one, whoever hung up
            self._finish(f"{self._closed_first or side}_closed")

    def _finish(self, outcome: str) -> None:
        if self.done.done():
            return
        self._idle.cancel()
        if self._deadline is not None:
            self._deadline.cancel()
        for transport in (self.client, self.upstream):
            if transport is not None and not transport.is_closing():
                transport.close()
        self.done.set_result(outcome)


class ClientSide(asyncio.Protocol):
    """The client's connection once the relay has taken it over."""

    def __init__(self, relay: Relay, on_lost: Callable[[], None]) -> None:
        self._relay = relay
        self._on_lost = on_lost

    def data_received(self, data: bytes) -> None:
        self._relay.from_client(data)

    def pause_writing(self) -> None:
        if self._relay.upstream is not None:
            self._relay.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self._relay.upstream is not None and not self._relay.upstream.is_closing():
            self._relay.upstream.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._relay.lost("client")
        self._on_lost()


class UpstreamSide(asyncio.Protocol):
    """The upstream's connection once its 101 has been read."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def data_received(self, data: bytes) -> None:
        self._relay.from_upstream(data)

    def pause_writing(self) -> None:
        if self._relay.client is not None:
            self._relay.client.pause_reading()

    def resume_writing(self) -> None:
        if self._relay.client is not None and not self._relay.client.is_closing():
            self._relay.client.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._relay.lost("upstream")
