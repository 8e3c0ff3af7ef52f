"""One span per forwarded request, made by hand (the forwarder bypasses every instrumented client).

The forwarder holds a :class:`RequestTracer` only when tracing is on (``OTEL_*``, see
:mod:`strangler_proxy.telemetry`); with tracing off it holds None and does no span work at all.

Sampling is decided once per request, here, before any span exists:

    the peer is a trusted proxy and sent a valid traceparent   -> its sampled flag (parent-based samplers)
    anyone else                                                -> the configured ratio, on the trace id
                                                                  (the same rule as the SDK's
                                                                  TraceIdRatioBased, so every process
                                                                  agrees on a trace)

so a client cannot force tracing on by sending ``-01``. The trace id a client sends is kept either way
(its request can still be followed), and the traceparent sent upstream carries the decision: the data
plane's span as parent with ``-01`` when sampled, the flag ``-00`` when not, so the services behind
(parent-based) follow it. A sampled request's span names the route, the decision (``legacy``, ``new``,
``canary-legacy``/``canary-new``, ``shadow``, ``override-*``, ``fallback``), the upstream, the route
table's version and the outcome; an error is recorded as the OpenTelemetry exception event, with the
proxy's own message (never a header value).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from strangler_proxy.dataplane.headers import ForwardedRequest, TrustedPeers
from strangler_proxy.dataplane.routing import Decision
from strangler_proxy.routes import ActionMode
from strangler_proxy.telemetry import TracingConfig

__all__ = ["RequestSpan", "RequestTracer", "decision_label"]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_MAX_BOUND = (1 << 64) - 1
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def decision_label(decision: Decision) -> str:
    """How the side was chosen, for the span."""
    side = decision.target.value
    if decision.overridden:
        return f"override-{side}"
    rule = decision.rule
    if rule is None:
        return side
    mode = rule.action.mode
    if mode is ActionMode.CANARY:
        return f"canary-{side}"
    if decision.shadow_upstream is not None:
        return "shadow"
    return side


class RequestSpan:
    """A sampled request's span and what its end needs."""

    __slots__ = ("span", "target")

    def __init__(self, span: Any, target: str) -> None:
        self.span = span
        self.target = target


class RequestTracer:
    """Decides sampling and makes the span of each forwarded request; one per worker."""

    __slots__ = ("_bound", "_parent_based", "_tracer", "_trusted")

    def __init__(self, tracer: trace.Tracer, config: TracingConfig, trusted: TrustedPeers) -> None:
        self._tracer = tracer
        self._trusted = trusted
        self._parent_based = config.parent_based
        self._bound = round(config.ratio * _MAX_BOUND)

    def sampled(self, trace_id: int, flags: int | None, client_host: str) -> bool:
        """The one sampling decision of a request; ``flags`` is None when the client sent no
        traceparent (the proxy started the trace)."""
        if flags is not None and self._parent_based and client_host in self._trusted:
            return bool(flags & 1)
        return (trace_id & _MAX_BOUND) < self._bound if self._bound < _MAX_BOUND else True

    def start(
        self,
        request: ForwardedRequest,
        raw_headers: Sequence[tuple[bytes, bytes]],
        client_host: str,
        method: str,
        path: str,
        decision: Decision,
        version: int,
    ) -> RequestSpan | None:
        """Decide sampling and rewrite the traceparent ``request.headers`` sends upstream; the span
        when sampled, None when not."""
        headers = request.headers
        index = _traceparent_index(headers)
        match = _TRACEPARENT.match(headers[index][1])
        if match is None:  # a future version's traceparent: propagated as it is, not traced
            return None
        trace_hex, parent_hex, flags_hex = match.groups()
        trace_id = int(trace_hex, 16)
        sent = headers[index][1].encode("ascii")
        given = any(name == b"traceparent" and value == sent for name, value in raw_headers)
        if not self.sampled(trace_id, int(flags_hex, 16) if given else None, client_host):
            request.traceparent = f"00-{trace_hex}-{parent_hex}-00"
            headers[index] = ("traceparent", request.traceparent)
            return None
        parent = SpanContext(trace_id, int(parent_hex, 16), is_remote=True, trace_flags=_SAMPLED)
        span = self._tracer.start_span(
            f"{method} {decision.route}",
            context=trace.set_span_in_context(NonRecordingSpan(parent)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": path,
                "http.route": decision.route,
                "strangler.route": decision.route,
                "strangler.decision": decision_label(decision),
                "strangler.table_version": version,
                "strangler.request_id": request.request_id,
            },
        )
        context = span.get_span_context()
        request.traceparent = f"00-{trace_hex}-{context.span_id:016x}-01"
        headers[index] = ("traceparent", request.traceparent)
        return RequestSpan(span, decision.target.value)

    @staticmethod
    def finish(request_span: RequestSpan, target: str, upstream: str, status: int, error: str | None) -> None:
        """End the span with the side that answered, the upstream, the status and the outcome."""
        span = request_span.span
        span.set_attribute("strangler.target", target)
        span.set_attribute("strangler.upstream", upstream)
        if target != request_span.target:
            span.set_attribute("strangler.decision", "fallback")
        span.set_attribute("http.response.status_code", status)
        if error is not None or status >= 500 or status == 0:
            span.set_attribute("strangler.outcome", "error")
            unhandled = sys.exc_info()[1] if status == 0 and error is None else None
            if unhandled is not None:
                # a fault of the proxy itself: its type only (its text may quote what the client sent);
                # the worker's log has the traceback
                kind, detail = type(unhandled).__qualname__, "unhandled error in the data plane"
            else:
                kind, detail = "ProxyError", error or f"answered {status}"
            span.add_event("exception", {"exception.type": kind, "exception.message": detail})
            span.set_status(Status(StatusCode.ERROR, detail))
        else:
            span.set_attribute("strangler.outcome", "ok")
        span.end()


def _traceparent_index(headers: list[tuple[str, str]]) -> int:
    """Where the traceparent is in the prepared headers (there is always one: kept or started)."""
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0] == "traceparent":
            return index
    raise LookupError("the prepared headers carry no traceparent")
