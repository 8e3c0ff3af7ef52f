"""The offer a WebSocket handshake finds in its scope: take the client's connection over.

uvicorn runs the data plane without a WebSocket implementation of its own (``ws="none"``): a GET
asking for ``Upgrade: websocket`` reaches the application as an ordinary ``http`` request whose scope
carries, under ``extensions[UPGRADE]``, a :class:`ClientUpgrade`. The application forwards the
handshake; when the upstream answers 101 it calls :meth:`ClientUpgrade.take_over`, which writes that
answer to the client and hands the connection to the relay's protocol. Otherwise it answers as usual
and the connection closes after that answer (the parser stopped at the upgrade).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["UPGRADE", "ClientUpgrade"]

UPGRADE = "strangler.upgrade"


class ClientUpgrade:
    """One client connection that asked for a WebSocket (see the module docstring)."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self.tail = b""
        """Bytes the client sent after its handshake, before any answer (normally none)."""
        self.on_shutdown: Callable[[], None] | None = None
        """Set by the relay: what to do when the server shuts down while the socket is open."""

    def take_over(self, head: bytes, client_side: asyncio.Protocol) -> asyncio.Transport:
        """Write ``head`` (the 101 answer) and hand the connection to ``client_side``; returns the
        client's transport, reading paused (the relay resumes it)."""
        protocol = self._protocol
        cycle = protocol.cycle
        cycle.response_started = True
        cycle.response_complete = True  # the ASGI cycle ends with the relay, not with a response
        protocol.release_for_upgrade()
        transport: asyncio.Transport = protocol.transport
        transport.write(head)
        transport.set_protocol(client_side)
        return transport

    def finished(self) -> None:
        """The relayed connection is closed: uvicorn forgets it (its graceful shutdown waits for it)."""
        self._protocol.connection_lost(None)
