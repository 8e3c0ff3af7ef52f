"""Errors the proxy answers itself, and how they are rendered.

    ProxyError                      status  what failed
     ├── RequestTooLarge              413   the request body exceeds the route's max_body_bytes
     ├── BadRequest                   400   the request cannot be forwarded as sent
     ├── InjectedFault                any   a drill's fault injection aborted the request
     ├── WritesFenced                 503   a write on a route whose owner is changing (Retry-After)
     └── UpstreamError                      talking to an upstream failed
          ├── UpstreamConnectError    502   no connection could be made
          ├── UpstreamProtocolError   502   the connection broke or the answer was not HTTP
          │    ├── UnaskedUpgrade     502   a 101 to a request that asked for no upgrade (and close)
          │    └── UpstreamHeadersTooLarge 502  the answer's headers are over the proxy's limits
          ├── UpstreamTimeout         504   connect or read timeout
          └── CircuitOpen             503   the upstream's breaker is open; nothing was sent

Each carries the upstream name (when there is one) so the body can say what failed. Bodies are small
JSON documents, or HTML when the client prefers it, and always name the request id.
"""

from __future__ import annotations

import html
import json

__all__ = [
    "BadRequest",
    "CircuitOpen",
    "InjectedFault",
    "ProxyError",
    "RequestTooLarge",
    "UnaskedUpgrade",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamHeadersTooLarge",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "WritesFenced",
    "render_error",
]


class ProxyError(Exception):
    status = 500
    code = "proxy_error"
    close_connection = False
    """Answer with ``Connection: close``: the client's connection cannot be trusted to carry more."""
    retry_after_s: int | None = None
    """Seconds for a ``Retry-After`` header (None: no such header)."""

    def __init__(self, detail: str, *, upstream: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.upstream = upstream


class RequestTooLarge(ProxyError):
    status = 413
    code = "request_too_large"


class BadRequest(ProxyError):
    status = 400
    code = "bad_request"


class InjectedFault(ProxyError):
    code = "injected_fault"

    def __init__(self, status: int, *, upstream: str | None = None) -> None:
        super().__init__(f"fault injected by the route's drill settings (status {status})", upstream=upstream)
        self.status = status


class WritesFenced(ProxyError):
    """The route's writes are fenced while they move to the other side; nothing was sent upstream."""

    status = 503
    code = "writes_fenced"

    def __init__(self, route: str, retry_after_s: int) -> None:
        super().__init__(
            f"writes on route {route!r} are paused while they move to the other side; "
            f"retry in {retry_after_s} s (reads are served)"
        )
        self.retry_after_s = retry_after_s


class UpstreamError(ProxyError):
    status = 502
    code = "upstream_error"


class UpstreamConnectError(UpstreamError):
    status = 502
    code = "upstream_unreachable"


class UpstreamProtocolError(UpstreamError):
    status = 502
    code = "upstream_protocol_error"


class UnaskedUpgrade(UpstreamProtocolError):
    code = "upstream_protocol_error"
    close_connection = True


class UpstreamHeadersTooLarge(UpstreamProtocolError):
    code = "upstream_headers_too_large"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class CircuitOpen(UpstreamError):
    status = 503
    code = "circuit_open"


_REASONS = {400: "Bad Request", 413: "Content Too Large", 502: "Bad Gateway", 503: "Service Unavailable"}
_REASONS[504] = "Gateway Timeout"


def _wants_html(accept: bytes) -> bool:
    return b"text/html" in accept and b"application/json" not in accept


def render_error(error: ProxyError, *, request_id: str, accept: bytes = b"") -> tuple[bytes, bytes]:
    """The (content-type, body) of the answer to ``error``; HTML when ``accept`` prefers it."""
    if _wants_html(accept):
        title = f"{error.status} {_REASONS.get(error.status, 'Error')}"
        where = f" (upstream {html.escape(error.upstream)})" if error.upstream else ""
        body = (
            f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"<p>{html.escape(error.detail)}{where}</p>"
            f"<p>Request id: <code>{html.escape(request_id)}</code></p>"
            "</body></html>"
        )
        return b"text/html; charset=utf-8", body.encode()
    document = {
        "error": error.code,
        "status": error.status,
        "detail": error.detail,
        "upstream": error.upstream,
        "request_id": request_id,
    }
    return b"application/json", json.dumps(document).encode()
