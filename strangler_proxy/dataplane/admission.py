"""What a route admits before the upstream is contacted: refusals for a fenced write, a header value
that is not UTF-8, a body over the route's limit, an upstream the table does not name or whose breaker
is open; and whether the legacy may answer should the new upstream fail."""

from __future__ import annotations

from time import time

from strangler_proxy.dataplane.errors import (
    BadRequest,
    CircuitOpen,
    RequestTooLarge,
    UpstreamConnectError,
    WritesFenced,
)
from strangler_proxy.dataplane.headers import ForwardedRequest
from strangler_proxy.dataplane.live import ServedTable
from strangler_proxy.dataplane.request_body import DEFAULT_MAX_BODY_BYTES
from strangler_proxy.dataplane.routing import Decision, Target
from strangler_proxy.routes.ownership import SAFE_METHODS

__all__ = ["DEFAULT_MAX_BODY_BYTES", "FALLBACK_METHODS", "admit", "circuit_open", "not_in_table"]

FALLBACK_METHODS = frozenset({"GET", "HEAD"})
_FENCE_PASSES = SAFE_METHODS
"""Methods a write fence lets through: reads never wait for a handover."""
_NEW = Target.NEW.value


def admit(decision: Decision, method: str, request: ForwardedRequest, target: str) -> bool:
    """What the route allows this request: refused when the route fences writes, a header value is
    not UTF-8 or the body is over the route's limit; True when the legacy may answer it should the new
    upstream fail (a GET or HEAD on a route whose ``fallback`` is ``legacy``)."""
    rule = decision.rule
    if rule is None:
        limit = DEFAULT_MAX_BODY_BYTES
        can_fall_back = False
    else:
        limit = rule.max_body_bytes
        fence = rule.fence
        if fence is not None and method not in _FENCE_PASSES and time() < fence.until:
            raise WritesFenced(decision.route, fence.retry_after_s)
        can_fall_back = target is _NEW and rule.action.fallback == "legacy" and method in FALLBACK_METHODS
    if request.not_utf8 is not None:
        raise BadRequest(
            f"the value of header {request.not_utf8!r} is not UTF-8: header values pass through "
            "this proxy as UTF-8 text (send the bytes as UTF-8, or percent-encode them)"
        )
    length = request.content_length
    if length is not None:
        if length == -1:
            raise BadRequest("the Content-Length header is not a non-negative integer")
        if length > limit:
            raise RequestTooLarge(
                f"request body of {length} bytes exceeds the route's limit of {limit} bytes"
            )
    return can_fall_back


def not_in_table(name: str, served: ServedTable) -> UpstreamConnectError:
    return UpstreamConnectError(
        f"upstream {name!r} is not in route table version {served.version}", upstream=name
    )


def circuit_open(name: str) -> CircuitOpen:
    return CircuitOpen(f"the circuit breaker of upstream {name!r} is open", upstream=name)
