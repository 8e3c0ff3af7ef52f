"""The server's side of the :mod:`.single_write` extension: uvicorn's request/response cycle, with an
``http.response.start`` message that carries the whole body written to the socket in one piece."""

from __future__ import annotations

from asyncio import Transport
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)

from strangler_proxy.dataplane.single_write import NO_CONTENT_STATUSES, WHOLE_BODY

__all__ = ["SingleWriteCycle"]


class _HeldWrites:
    """Stands in for the transport while uvicorn writes one whole answer: collects, then writes once.

    ``close`` writes what it holds and closes at once, as uvicorn expects (its completion callback
    then sees a closing transport, exactly as with two writes)."""

    __slots__ = ("_parts", "_transport")

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def flush(self) -> None:
        if self._parts:
            self._transport.write(b"".join(self._parts))
            self._parts = []


class SingleWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, with :data:`WHOLE_BODY` answers written in one piece.

    The common whole answer (a Content-Length, no default headers or access log of uvicorn's) is
    framed here exactly as uvicorn frames it, with the same refusals, but with one check of all header
    names and one of all values instead of two per header, once the client's socket takes writes
    again if it was paused; anything else goes through uvicorn's own ``send``, its two writes
    collected into one.
    """

    async def send(self, message: Any) -> None:
        body = message.get(WHOLE_BODY)
        if body is None:
            await super().send(message)
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()  # the client is not reading yet: wait for it, as uvicorn's send does
        if not (
            self.response_started or self.disconnected or self.access_log or self.default_headers
        ) and self._send_whole(message["status"], message.get("headers", ()), body):
            return
        transport = self.transport
        held = _HeldWrites(transport)
        self.transport = held  # type: ignore[assignment]
        try:
            # uvicorn's own send validates and frames the head and the body (as two writes)
            await super().send(message)
            await super().send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            self.transport = transport
            held.flush()

    def _send_whole(self, status: int, headers: Any, body: bytes) -> bool:
        """Frame and write a whole answer; False (nothing done) when it has no Content-Length."""
        length: bytes | None = None
        close = False
        names: list[bytes] = []
        values: list[bytes] = []
        content = [STATUS_LINE[status]]
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                if length is None:
                    length = value
            elif name == b"connection":
                if b"close" in [token.lower().strip() for token in value.split(b",")]:
                    close = True
            elif name == b"transfer-encoding":
                return False
            names.append(name)
            values.append(value)
            content += (name, b": ", value, b"\r\n")
        if length is None:
            return False
        # the checks uvicorn makes header by header, once over all of them
        if HEADER_RE.search(b"".join(names)):
            raise RuntimeError("Invalid HTTP header name.")
        if HEADER_VALUE_RE.search(b"".join(values)):
            raise RuntimeError("Invalid HTTP header value.")
        expected = int(length.decode())
        if self.scope["method"] != "HEAD" and status not in NO_CONTENT_STATUSES:
            if len(body) > expected:
                raise RuntimeError("Response content longer than Content-Length")
            if len(body) < expected:
                raise RuntimeError("Response content shorter than Content-Length")
            tail: tuple[bytes, ...] = (b"\r\n", body)
        else:
            tail = (b"\r\n",)
        self.response_started = True
        self.waiting_for_100_continue = False
        if close:
            self.keep_alive = False
        elif not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += tail
        self.transport.write(b"".join(content))
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
        return True
