"""An upstream attempt judged: the breaker's verdict on the answer or the failure, and the error the
client is answered.

The upstream is judged (a failure against its breaker) only when it is to blame: not when the client's
body was too large, the client went away or the request was cancelled (the breaker's slot is released).
"""

from __future__ import annotations

import os

import aiohttp

from strangler_proxy.dataplane.breaker import CircuitBreaker
from strangler_proxy.dataplane.errors import (
    InjectedFault,
    ProxyError,
    RequestTooLarge,
    UnaskedUpgrade,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHeadersTooLarge,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from strangler_proxy.dataplane.failures import describe_failure, is_over_header_limits
from strangler_proxy.dataplane.faults import apply_fault
from strangler_proxy.dataplane.headers import ForwardedRequest, response_head
from strangler_proxy.dataplane.live import UpstreamInfo
from strangler_proxy.dataplane.request_body import BodyStream, ClientDisconnected
from strangler_proxy.routes import FaultInjection, Timeouts

__all__ = ["headers_too_large", "inject", "judge_answer", "open_failed", "unasked_upgrade"]


async def inject(fault: FaultInjection, upstream: str, breaker: CircuitBreaker) -> None:
    """Apply a drill's fault before the upstream is contacted. The fault is the route's, not the
    upstream's: an abort never counts against the upstream's breaker (as Envoy's fault filter answers
    before the cluster), so a fault drilled on one route does not open the breaker for every other route
    of the same upstream, whose guards would then roll them back too."""
    try:
        await apply_fault(fault, upstream=upstream)
    except InjectedFault:
        breaker.release()
        raise
    except BaseException:
        breaker.release()
        raise


def headers_too_large(name: str) -> UpstreamHeadersTooLarge:
    return UpstreamHeadersTooLarge(
        f"upstream {name!r} sent answer headers over the proxy's limits "
        "(STRANGLER_MAX_RESPONSE_HEADER_BYTES, STRANGLER_MAX_RESPONSE_HEADERS)",
        upstream=name,
    )


def unasked_upgrade(
    response: aiohttp.ClientResponse, upstream: UpstreamInfo, breaker: CircuitBreaker
) -> UnaskedUpgrade:
    """An upstream switched protocols for a request that asked for no upgrade: whatever follows on
    that connection is not HTTP, so it is closed, nothing of the answer is relayed, and the client's
    connection is closed after the 502 (another proxy in front could otherwise lose track of it)."""
    response.close()
    breaker.record_failure()
    return UnaskedUpgrade(
        f"upstream {upstream.name!r} switched protocols (101) for a request that asked for no upgrade",
        upstream=upstream.name,
    )


def open_failed(
    exc: BaseException,
    upstream: UpstreamInfo,
    breaker: CircuitBreaker,
    body: bytes | BodyStream | None,
    timeouts: Timeouts,
) -> ProxyError | ClientDisconnected:
    """The error to answer for a request the upstream did not take; judges the breaker when the
    upstream is to blame (not when the client's body was too large or the client went away)."""
    name = upstream.name
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        breaker.record_failure()
        return UpstreamTimeout(
            f"connecting to upstream {name!r} timed out after {timeouts.connect_s}s", upstream=name
        )
    if isinstance(exc, (aiohttp.ServerTimeoutError, TimeoutError)):
        breaker.record_failure()
        return UpstreamTimeout(f"upstream {name!r} did not answer within {timeouts.read_s}s", upstream=name)
    if isinstance(exc, aiohttp.ClientConnectorError):
        breaker.record_failure()
        # the errno's own words: the exception's text names the upstream's address
        code = exc.os_error.errno
        reason = os.strerror(code) if code else type(exc.os_error).__name__
        return UpstreamConnectError(f"cannot connect to upstream {name!r}: {reason}", upstream=name)
    if isinstance(body, BodyStream):
        if body.too_large:
            breaker.release()
            return RequestTooLarge(f"request body exceeds the route's limit of {body.limit} bytes")
        if body.disconnected:
            breaker.release()
            return ClientDisconnected(str(exc))
    breaker.record_failure()
    if is_over_header_limits(exc):
        return headers_too_large(name)
    return UpstreamProtocolError(f"upstream {name!r} {describe_failure(exc)}", upstream=name)


def judge_answer(
    response: aiohttp.ClientResponse,
    upstream: UpstreamInfo,
    breaker: CircuitBreaker,
    can_fall_back: bool,
    request: ForwardedRequest,
    max_head_bytes: int,
) -> tuple[list[tuple[bytes, bytes]], int | None, int]:
    """The upstream's answer judged (its breaker's verdict; a 5xx raised when the legacy can answer
    instead; a switch of protocols nobody asked for, or a head over the limits, refused) and its
    head as the client will see it: (headers, Content-Length, head size)."""
    status = response.status
    if status < 500:
        if status == 101:
            raise unasked_upgrade(response, upstream, breaker)
        breaker.record_success()
    else:
        breaker.record_failure()
        if can_fall_back:
            response.release()
            raise UpstreamError(f"upstream {upstream.name!r} answered {status}", upstream=upstream.name)
    head = response_head(
        response.raw_headers,
        upstream_origin=upstream.origin,
        scheme=request.public_scheme,
        host=request.public_host,
    )
    if head[2] > max_head_bytes:
        response.close()
        raise headers_too_large(upstream.name)
    return head
