"""A bounded record of one worker's recent failing requests, per route, for the admin UI's trace links.

A failing request is one answered with a 5xx to the client: the upstream's own 5xx, or the proxy's
502/503/504 (upstream unreachable, broken, timed out, circuit open, writes fenced...). Only such a
request does any work here: one tuple appended to its route's ring (a ``deque`` holding the last
``per_route``), so memory stays bounded whatever the traffic. The flush task drains the rings off the
request path and writes them to the store (``failing_requests``), where each entry names the request's
trace id, so the admin UI links it to its trace.

What is kept: the time, the method, the path (turned into its shape, ``/orders/{int}``, when drained:
never the query string), the status, the failure class, the route, the side and upstream that answered,
the route table's version, the request id and the trace id. Never a header value or a body.
"""

from __future__ import annotations

import sys
import time
from asyncio import CancelledError
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from strangler_proxy.routes.path_shapes import path_shape

__all__ = [
    "DEFAULT_PER_ROUTE",
    "PROXY_FAULT",
    "UPSTREAM_STATUS",
    "FailingRequest",
    "FailingRequests",
    "entries",
    "trace_id_of",
]

DEFAULT_PER_ROUTE = 20
"""Failing requests kept per route between two drains when ``STRANGLER_FAILING_REQUESTS_PER_ROUTE`` is
not set."""
UPSTREAM_STATUS = "upstream_status"
"""The failure class of a 5xx the upstream answered itself (the proxy's own errors have their code)."""
PROXY_FAULT = "proxy_fault"
"""The failure class of an unhandled error of the data plane itself (the client got a 500)."""
_MAX_METHOD = 16
_MAX_PATH = 512
_MAX_TEXT = 64


def trace_id_of(traceparent: str) -> str | None:
    """The 32 hex digits of a validated traceparent's trace id (``00-<trace id>-<span id>-<flags>``)."""
    return traceparent[3:35] if len(traceparent) == 55 else None


@dataclass(frozen=True, slots=True)
class FailingRequest:
    """One failing request as written to the store (``path`` is the path's shape)."""

    at: float
    route: str
    target: str
    method: str
    path: str
    status: int
    failure: str
    upstream: str
    version: int
    request_id: str
    trace_id: str | None


class FailingRequests:
    """One worker's rings; not thread-safe (one event loop owns it)."""

    def __init__(self, per_route: int = DEFAULT_PER_ROUTE, *, clock: Callable[[], float] = time.time) -> None:
        if per_route < 1:
            raise ValueError("per_route must be at least 1")
        self.per_route = per_route
        self._clock = clock
        self._rings: dict[str, deque[tuple]] = {}
        self.seen = 0
        """Failing requests recorded since the last drain (kept or pushed out of their ring)."""

    def add(
        self,
        route: str,
        target: str,
        method: str,
        path: str,
        status: int,
        failure: str,
        upstream: str,
        version: int,
        request_id: str,
        traceparent: str,
    ) -> None:
        """Record one failing request (called by the forwarder only for a 5xx, or status 0 when the
        forwarder itself failed). ``failure`` is the proxy's error code, empty when the upstream answered
        the 5xx itself. A request cancelled while it was served (status 0 without an error) is no
        failure of the route: it is not recorded."""
        if not status:
            error = sys.exc_info()[1]
            if error is None or isinstance(error, CancelledError) or not isinstance(error, Exception):
                return
            status, failure = 500, PROXY_FAULT
        ring = self._rings.get(route)
        if ring is None:
            ring = self._rings[route] = deque(maxlen=self.per_route)
        ring.append(
            (
                self._clock(),
                route,
                target,
                method,
                path,
                status,
                failure or UPSTREAM_STATUS,
                upstream,
                version,
                request_id,
                traceparent,
            )
        )
        self.seen += 1

    def drain(self) -> list[tuple]:
        """Remove and return every kept entry, raw (:func:`entries` turns them into records off the
        event loop)."""
        rings, self._rings = self._rings, {}
        self.seen = 0
        return [entry for ring in rings.values() for entry in ring]


def entries(raw: list[tuple]) -> list[FailingRequest]:
    """The drained entries as records: the path becomes its shape and every text is cut to its column's
    size (the work of a failing request, done in the writer's thread)."""
    out = []
    for at, route, target, method, path, status, failure, upstream, version, request_id, traceparent in raw:
        out.append(
            FailingRequest(
                at=at,
                route=route,
                target=target,
                method=method[:_MAX_METHOD],
                path=path_shape(path)[:_MAX_PATH],
                status=status,
                failure=failure[:_MAX_TEXT],
                upstream=upstream[:_MAX_TEXT],
                version=version,
                request_id=request_id[:_MAX_TEXT],
                trace_id=trace_id_of(traceparent),
            )
        )
    return out
