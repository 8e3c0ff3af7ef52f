"""The upstream half of a WebSocket handshake: connect, send the request head, read the answer.

A raw asyncio connection, not the aiohttp pool: the connection becomes the relay's once the upstream
answers 101, and is never reused for another request. The answer is read with httptools' response
parser (the parser uvicorn uses); an answer other than 101 (403, 426, a redirect...) is read whole
(up to :data:`MAX_REFUSAL_BODY_BYTES`) so that the client gets it as the upstream sent it.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_REFUSAL_BODY_BYTES", "HandshakeAnswer", "HandshakeFailed", "open_handshake"]

MAX_REFUSAL_BODY_BYTES = 1024 * 1024


class HandshakeFailed(Exception):
    """The upstream's answer was not HTTP, too large, or cut off; ``kind`` names which (never its text)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class HandshakeAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    tail: bytes = b""
    """Bytes the upstream sent right after its 101 (the first frames)."""
    transport: asyncio.Transport | None = field(default=None, repr=False)


class _AnswerReader(asyncio.Protocol):
    """Reads one answer on a fresh upstream connection; reading pauses once a 101 is read."""

    def __init__(self, answered: asyncio.Future[HandshakeAnswer], max_head_bytes: int) -> None:
        self._answered = answered
        self._max_head_bytes = max_head_bytes
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._status = 0
        self._head_done = False
        self._framed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > self._max_head_bytes:
            raise HandshakeFailed("sent answer headers over the proxy's limits")
        lower = name.lower()
        if lower in (b"content-length", b"transfer-encoding"):
            self._framed = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._head_done = True

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > MAX_REFUSAL_BODY_BYTES:
            raise HandshakeFailed("sent a refusal larger than the proxy relays")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status != 101:
            self._resolve(HandshakeAnswer(self._status, self._headers, b"".join(self._body)))

    # asyncio callbacks
    def data_received(self, data: bytes) -> None:
        if self._answered.done():
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._switched(data[upgrade.args[0] :])
        except httptools.HttpParserError as exc:
            cause = exc.__cause__ or exc.__context__  # a callback's own refusal, wrapped by httptools
            if isinstance(cause, HandshakeFailed):
                self._fail(cause)
            else:
                self._fail(HandshakeFailed("sent an answer that is not valid HTTP"))
        else:
            if self._status == 101 and self._head_done:
                self._switched(b"")

    def _switched(self, tail: bytes) -> None:
        if self._status != 101:
            self._fail(HandshakeFailed("switched protocols without a 101"))
            return
        assert self._transport is not None
        self._transport.pause_reading()  # the relay resumes it
        self._resolve(HandshakeAnswer(101, self._headers, tail=tail, transport=self._transport))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answered.done():
            return
        if self._head_done and not self._framed and self._status != 101:
            # an answer delimited by the end of the connection
            self._resolve(HandshakeAnswer(self._status, self._headers, b"".join(self._body)))
        else:
            self._fail(HandshakeFailed("closed the connection before its answer was complete"))

    def _resolve(self, answer: HandshakeAnswer) -> None:
        if not self._answered.done():
            self._answered.set_result(answer)

    def _fail(self, exc: HandshakeFailed) -> None:
        if self._transport is not None:
            self._transport.close()
        if not self._answered.done():
            self._answered.set_exception(exc)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


async def open_handshake(
    base_url: str,
    head: bytes,
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
    max_head_bytes: int,
) -> HandshakeAnswer:
    """Connect to ``base_url`` (``http(s)://host:port``), send ``head`` and read the answer.

    Raises ``OSError`` when no connection could be made, ``TimeoutError`` (connect or answer), or
    :class:`HandshakeFailed`. A 101 answer carries the paused transport, owned by the caller from then
    on; any other answer's connection is closed."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(base_url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    answered: asyncio.Future[HandshakeAnswer] = loop.create_future()
    async with asyncio.timeout(connect_timeout_s):
        transport, _protocol = await loop.create_connection(
            lambda: _AnswerReader(answered, max_head_bytes),
            host,
            port,
            ssl=_tls_context() if secure else None,
            server_hostname=host if secure else None,
        )
    try:
        transport.write(head)
        async with asyncio.timeout(read_timeout_s):
            answer = await answered
    except BaseException:
        transport.close()
        raise
    if answer.status != 101:
        transport.close()
    return answer
