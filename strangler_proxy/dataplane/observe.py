"""What a proxied request leaves behind once answered: its count and duration (route stats), its
span, its place among the route's last failing requests (a 5xx or no answer), its access log line."""

from __future__ import annotations

from time import perf_counter

from starlette.types import Scope

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.failing_requests import FailingRequests
from strangler_proxy.dataplane.headers import ForwardedRequest
from strangler_proxy.dataplane.live import ServedTable
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.tracing import RequestSpan, RequestTracer

__all__ = ["RequestObserver"]


class RequestObserver:
    """Records each proxied request where it is counted, traced and logged."""

    __slots__ = ("_access_log", "_failing", "_stats")

    def __init__(
        self, stats: RequestStats, failing: FailingRequests | None, access_log: AccessLog | None
    ) -> None:
        self._stats = stats
        self._failing = failing
        """Keeps the route's last failing requests (5xx answers), for the admin UI's trace links."""
        self._access_log = access_log

    def record(
        self,
        scope: Scope,
        start: float,
        key: tuple[str, str],
        target: str,
        upstream_name: str,
        served: ServedTable,
        request: ForwardedRequest,
        status: int,
        error: str | None,
        failure: str,
        span: RequestSpan | None,
        client_host: str,
    ) -> None:
        """What a request leaves behind: its count and duration, its span, its place among the route's
        failing requests (a 5xx or no answer), its access log line."""
        duration = perf_counter() - start
        route = key[0]
        self._stats.record(key if target is key[1] else (route, target), status or 500, duration)
        if span is not None:
            RequestTracer.finish(span, target, upstream_name, status, error)
        if (status >= 500 or not status) and self._failing is not None:
            self._failing.add(
                route,
                target,
                scope["method"],
                scope["path"],
                status,
                failure,
                upstream_name,
                served.version,
                request.request_id,
                request.traceparent,
            )
        if self._access_log is not None:
            self._access_log.record(
                request.request_id,
                scope["method"],
                scope.get("raw_path") or scope["path"],
                route,
                target,
                upstream_name,
                served.version,
                status,
                duration,
                client_host,
                error,
                request.traceparent,
            )
