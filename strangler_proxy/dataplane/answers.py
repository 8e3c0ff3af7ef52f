"""What the data plane sends the client: an upstream's body relayed chunk by chunk, the proxy's own
error answers, the debug headers naming the route, side, upstream and table version, and the JSON
answers of its own endpoints."""

from __future__ import annotations

import json

import aiohttp
from starlette.types import Send

from strangler_proxy.dataplane.errors import ProxyError, render_error
from strangler_proxy.dataplane.headers import ForwardedRequest
from strangler_proxy.dataplane.live import ServedTable
from strangler_proxy.dataplane.request_body import TEE_LIMIT_BYTES

__all__ = ["answer_error", "debug_headers", "respond_bytes", "respond_json", "stream_body"]


async def stream_body(
    response: aiohttp.ClientResponse, send: Send, tee: list[bytes] | None
) -> list[bytes] | None:
    """Relay the body chunk by chunk as it arrives; returns the tee (None once over the limit)."""
    content = response.content
    teed = 0
    while True:
        chunk = await content.readany()
        if not chunk:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return tee
        if tee is not None:
            teed += len(chunk)
            if teed <= TEE_LIMIT_BYTES:
                tee.append(chunk)
            else:
                tee = None
        if content.at_eof():
            await send({"type": "http.response.body", "body": chunk, "more_body": False})
            return tee
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def answer_error(
    send: Send,
    error: ProxyError,
    request: ForwardedRequest,
    debug: list[tuple[bytes, bytes]] | None,
) -> None:
    """The proxy's own answer for ``error`` (JSON or HTML as the client accepts), never cached;
    ``debug`` are the debug headers when they are on."""
    content_type, payload = render_error(error, request_id=request.request_id, accept=request.accept)
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request.request_id.encode()),
        (b"cache-control", b"no-store"),
    ]
    if error.retry_after_s is not None:
        headers.append((b"retry-after", str(error.retry_after_s).encode()))
    if error.status == 413 or error.close_connection:
        headers.append((b"connection", b"close"))
    if debug is not None:
        headers += debug
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def debug_headers(route: str, target: str, upstream: str, served: ServedTable) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-strangler-route", route.encode()),
        (b"x-strangler-target", target.encode()),
        (b"x-strangler-upstream", upstream.encode()),
        (b"x-strangler-version", str(served.version).encode()),
    ]


async def respond_json(send: Send, status: int, document: object) -> None:
    await respond_bytes(send, status, b"application/json", json.dumps(document, default=str).encode())


async def respond_bytes(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
