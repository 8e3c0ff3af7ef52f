"""Request limits applied before any endpoint parses a body (a plain ASGI middleware).

A request body over the limit of its path is refused with 413 before the application sees a byte of
it: the login endpoints take at most ``LOGIN_BODY_BYTES`` (a user name and a password), everything else
``STRANGLER_ADMIN_MAX_BODY_BYTES`` (2 MiB by default: a whole route table fits many times over). The
body is read here, at most once and at most up to the limit, then handed to the application whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LOGIN_BODY_BYTES", "LOGIN_PATHS", "BodyLimit"]

LOGIN_BODY_BYTES = 8 * 1024
LOGIN_PATHS = ("/api/v1/session", "/login")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay(body, None, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A receive that hands over the buffered body once, then whatever comes next (a disconnect)."""
    pending: list[Message] = (
        [first] if first is not None else [{"type": "http.request", "body": body, "more_body": False}]
    )

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    message = f"the request body is larger than {limit} bytes"
    if scope["path"].startswith("/api/"):
        body = json.dumps({"error": "too_large", "message": message}).encode()
        content_type = b"application/json"
    else:
        body, content_type = message.encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
