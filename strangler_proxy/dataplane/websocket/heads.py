"""The heads the proxy writes around a WebSocket handshake: the request head to the upstream, the
upstream's 101 as the client gets it, an answer other than 101 relayed as the upstream sent it, and the
proxy's own error answer (the connection closes after it)."""

from __future__ import annotations

from starlette.types import Send

from strangler_proxy.dataplane.errors import ProxyError, render_error
from strangler_proxy.dataplane.headers import response_head
from strangler_proxy.dataplane.live import UpstreamInfo
from strangler_proxy.dataplane.websocket.handshake import HandshakeAnswer

__all__ = ["answer_error", "handshake_head", "relay_refusal", "switching_head"]


def handshake_head(raw_target: bytes, headers: list[tuple[str, str]]) -> bytes:
    lines = [b"GET ", raw_target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        lines += (name.encode("latin-1"), b": ", value.encode("utf-8"), b"\r\n")
    lines.append(b"connection: Upgrade\r\nupgrade: websocket\r\n\r\n")
    return b"".join(lines)


def switching_head(headers: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]) -> bytes:
    """The upstream's 101 as the client gets it: its headers in order (Upgrade, Connection and the
    Sec-WebSocket-* ones included), plus the proxy's own (a canary bucket cookie)."""
    lines = [b"HTTP/1.1 101 Switching Protocols\r\n"]
    for name, value in [*headers, *extra]:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


async def relay_refusal(
    send: Send,
    answer: HandshakeAnswer,
    upstream: UpstreamInfo,
    scheme: str,
    host: str,
    extra: list[tuple[bytes, bytes]],
) -> None:
    """The upstream answered the handshake with something else than 101: that answer, as sent."""
    out, _length, _size = response_head(
        answer.headers, upstream_origin=upstream.origin, scheme=scheme, host=host
    )
    out = [(n, v) for n, v in out if n != b"content-length"]
    out += extra
    out.append((b"content-length", str(len(answer.body)).encode()))
    out.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": out})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def answer_error(send: Send, error: ProxyError, request_id: str, accept: bytes) -> None:
    content_type, payload = render_error(error, request_id=request_id, accept=accept)
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
