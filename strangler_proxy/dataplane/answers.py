"""What the data plane sends the client: an upstream's answer relayed (a small one in one piece, others
chunk by chunk), the proxy's own error answers, the debug headers naming the route, side, upstream and
table version, and the JSON answers of its own endpoints."""

from __future__ import annotations

import json
import logging

import aiohttp
from starlette.types import Scope, Send

from strangler_proxy.dataplane.errors import (
    ProxyError,
    UpstreamProtocolError,
    UpstreamTimeout,
    render_error,
)
from strangler_proxy.dataplane.failures import describe_failure
from strangler_proxy.dataplane.headers import ForwardedRequest
from strangler_proxy.dataplane.live import ServedTable
from strangler_proxy.dataplane.request_body import TEE_LIMIT_BYTES
from strangler_proxy.dataplane.single_write import NO_CONTENT_STATUSES, SINGLE_WRITE, WHOLE_BODY

__all__ = [
    "SMALL_BODY_BYTES",
    "RelayCut",
    "answer_error",
    "debug_headers",
    "relay",
    "respond_bytes",
    "respond_json",
    "stream_body",
]

logger = logging.getLogger("strangler_proxy.dataplane.forward")
"""The forwarder's log: a relay cut short is one of its events."""

SMALL_BODY_BYTES = 64 * 1024
"""Answers with a Content-Length up to this size are read whole and sent in one message."""


class RelayCut(Exception):
    """The upstream failed after the answer's head was sent: the client's connection is closed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def relay(
    response: aiohttp.ClientResponse,
    head: list[tuple[bytes, bytes]],
    length: int | None,
    scope: Scope,
    send: Send,
    tee: bool,
    name: str,
    request: ForwardedRequest,
) -> list[bytes] | None:
    """The upstream's answer to the client with ``head`` as its headers: small answers (most API calls)
    in one piece, in one write when the server offers it, others chunk by chunk. Returns what was teed
    for the mirror when ``tee``, up to TEE_LIMIT_BYTES. An upstream failing before anything was sent
    raises the error to answer; after, :class:`RelayCut` (the client's connection is closed)."""
    status = response.status
    teed: list[bytes] | None = [] if tee else None
    started = False
    try:
        if length is not None and (length <= SMALL_BODY_BYTES or status in NO_CONTENT_STATUSES):
            payload = await response.read()
            started = True
            extensions = scope.get("extensions")
            if extensions is not None and SINGLE_WRITE in extensions:
                await send(
                    {"type": "http.response.start", "status": status, "headers": head, WHOLE_BODY: payload}
                )
            else:
                await send({"type": "http.response.start", "status": status, "headers": head})
                await send({"type": "http.response.body", "body": payload, "more_body": False})
            if teed is not None:
                teed.append(payload)
            return teed
        started = True
        await send({"type": "http.response.start", "status": status, "headers": head})
        return await stream_body(response, send, teed)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RelayCut(_relay_failed(exc, response, started, name, request)) from exc


def _relay_failed(
    exc: aiohttp.ClientError | TimeoutError,
    response: aiohttp.ClientResponse,
    started: bool,
    name: str,
    request: ForwardedRequest,
) -> str:
    """The upstream failed while its answer was relayed: before anything was sent, the error to answer
    is raised; after, the client's connection is closed and the error to record is returned."""
    response.close()
    if not started:
        if isinstance(exc, TimeoutError):
            raise UpstreamTimeout(
                f"upstream {name!r} stopped sending its answer for longer than the read timeout",
                upstream=name,
            ) from exc
        raise UpstreamProtocolError(f"upstream {name!r} {describe_failure(exc)}", upstream=name) from exc
    error = f"upstream {name!r} {describe_failure(exc)}"
    logger.warning(
        "%s; closing the client connection (request id %s)",
        error,
        request.request_id,
        extra={"trace_id": request.traceparent[3:35]},
    )
    return error


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
