"""What went wrong with an upstream, in words that never quote the exchange.

An aiohttp exception's text and ``repr`` can carry the whole upstream request (``ClientResponseError``
holds its ``RequestInfo``: the URL and every header, the client's ``Authorization`` and ``Cookie``
included) or bytes of the upstream's answer. Nothing of it may reach a client's error body, a log line
or a metric label, so the proxy describes a failure by its class only: :func:`describe_failure` walks
the exception and the exceptions it was raised from, and names the first class it knows.
"""

from __future__ import annotations

import aiohttp
from aiohttp import http_exceptions

__all__ = ["HEADERS_OVER_LIMITS", "describe_failure", "is_over_header_limits"]

HEADERS_OVER_LIMITS = "sent answer headers over the proxy's limits"
_TOO_MANY_HEADERS = "Too many headers"

_DESCRIPTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (http_exceptions.LineTooLong, HEADERS_OVER_LIMITS),
    (http_exceptions.BadStatusLine, "sent an answer whose status line is not HTTP/1.x"),
    (http_exceptions.InvalidHeader, "sent an answer with an invalid header"),
    (http_exceptions.TransferEncodingError, "sent a body that breaks its chunked framing"),
    (http_exceptions.ContentLengthError, "sent a body shorter than its Content-Length"),
    (http_exceptions.BadHttpMessage, "sent an answer that is not valid HTTP"),
    (aiohttp.ClientPayloadError, "broke off its answer's body"),
    (aiohttp.ServerDisconnectedError, "closed the connection before its answer was complete"),
    (aiohttp.ClientResponseError, "sent an answer that is not valid HTTP"),
    (ConnectionResetError, "reset the connection"),
    (BrokenPipeError, "closed the connection while the request was being sent"),
    (aiohttp.ClientOSError, "connection failed"),
    (TimeoutError, "timed out"),
)


def describe_failure(exc: BaseException) -> str:
    """A short description of ``exc`` by its class (and those it was raised from), e.g. "sent an
    answer whose status line is not HTTP/1.x"; never the exception's own text."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(str(getattr(link, "message", "")).startswith(_TOO_MANY_HEADERS) for link in chain):
        return HEADERS_OVER_LIMITS  # aiohttp's own words for max_headers (a BadHttpMessage)
    for kind, description in _DESCRIPTIONS:
        if any(isinstance(link, kind) for link in chain):
            return description
    return f"failed ({type(exc).__name__})"


def is_over_header_limits(exc: BaseException) -> bool:
    return describe_failure(exc) == HEADERS_OVER_LIMITS
