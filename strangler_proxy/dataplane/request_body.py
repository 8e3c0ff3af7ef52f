"""The client's request body: streamed to the upstream as it arrives, or read whole when it may be sent
twice; either way counted against the route's limit, and teed (up to ``TEE_LIMIT_BYTES``) for a
shadowed request's mirror."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.types import Receive

from strangler_proxy.dataplane.errors import RequestTooLarge
from strangler_proxy.routes.model import Rule

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "TEE_LIMIT_BYTES",
    "BodyStream",
    "ClientDisconnected",
    "read_body",
    "request_body",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
"""The limit of a request body when no rule matched."""

TEE_LIMIT_BYTES = 1024 * 1024


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


class BodyStream:
    """The client's body as an async iterator for aiohttp, counted against the route's limit."""

    __slots__ = ("_receive", "disconnected", "limit", "received", "tee", "too_large")

    def __init__(self, receive: Receive, limit: int, *, tee: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.too_large = False
        self.disconnected = False
        self.tee: list[bytes] | None = [] if tee else None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                raise ClientDisconnected("client disconnected while sending its body")
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                if self.received > self.limit:
                    self.too_large = True
                    raise RequestTooLarge(f"request body exceeds the route's limit of {self.limit} bytes")
                if self.tee is not None:
                    if self.received <= TEE_LIMIT_BYTES:
                        self.tee.append(chunk)
                    else:
                        self.tee = None
                yield chunk
            if not message.get("more_body", False):
                return


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("client disconnected while sending its body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(f"request body exceeds the route's limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def request_body(receive: Receive, rule: Rule | None, *, whole: bool, tee: bool) -> bytes | BodyStream:
    """The client's body under the rule's limit: read ``whole`` when it may be sent twice (a GET or HEAD
    that can fall back to the legacy), else streamed as it arrives (``tee``-d for a mirror)."""
    limit = DEFAULT_MAX_BODY_BYTES if rule is None else rule.max_body_bytes
    return await read_body(receive, limit) if whole else BodyStream(receive, limit, tee=tee)
