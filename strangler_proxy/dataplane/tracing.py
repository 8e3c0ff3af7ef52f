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

What a request costs (``tracing_throughput_cost`` in the benchmarks): an unsampled request only has
its traceparent's flag rewritten, from the text the header filter already validated (no parsing
again, no OpenTelemetry object); a sampled one keeps its start time and first attributes and, at its
end, becomes one plain record (:mod:`strangler_proxy.dataplane.span_records`) handed to a sink. In a
worker the sink is the pipe to the worker's exporting process (:mod:`strangler_proxy.dataplane.span_export`),
which writes it as OTLP protobuf and exports it: none of that runs on the worker's interpreter. The
SDK's live span is not used: with its context objects, locks and one validated ``set_attribute`` call
per attribute, making and ending it took about 65 us of the worker's only thread, for a span that
nothing else ever reads while it is open.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from time import time_ns
from typing import Any

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from strangler_proxy.dataplane.headers import ForwardedRequest, TrustedPeers
from strangler_proxy.dataplane.routing import Decision
from strangler_proxy.dataplane.span_records import ProcessorSink, SpanSink
from strangler_proxy.routes import ActionMode
from strangler_proxy.telemetry import TracingConfig

__all__ = ["RequestSpan", "RequestTracer", "decision_label"]

_MAX_BOUND = (1 << 64) - 1


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
    """What a sampled request's span needs at its end (the span itself is made then, whole)."""

    __slots__ = ("attributes", "name", "parent_id", "sink", "span_id", "start", "target", "trace_id")

    def __init__(
        self,
        name: str,
        trace_id: int,
        span_id: int,
        parent_id: int,
        attributes: dict[str, Any],
        target: str,
        sink: SpanSink,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.attributes = attributes
        self.target = target
        self.sink = sink
        self.start = time_ns()


class RequestTracer:
    """Decides sampling and makes the span of each forwarded request; one per worker.

    The finished spans go to ``sink`` (a worker's: the pipe to its exporting process); without one,
    ``tracer`` (an SDK tracer of :func:`strangler_proxy.telemetry.tracer_provider`) takes them in this
    process, through its span processor, resource and id generator."""

    __slots__ = ("_all", "_bound", "_flags_count", "_ids", "_sink", "_trusted")

    def __init__(
        self, tracer: Any, config: TracingConfig, trusted: TrustedPeers, sink: SpanSink | None = None
    ) -> None:
        if sink is None:
            sink = ProcessorSink(tracer.span_processor, tracer.resource)
        self._sink = sink
        self._ids = tracer.id_generator if tracer is not None else RandomIdGenerator()
        self._trusted = trusted
        self._flags_count = config.parent_based and bool(trusted)
        """A client's sampled flag can count: a parent-based sampler, and trusted peers to send it."""
        bound = round(config.ratio * _MAX_BOUND)
        self._all = bound >= _MAX_BOUND
        self._bound = f"{bound:016x}"
        """The ratio's bound on a trace id's lower 64 bits, as 16 lowercase hex digits: the header
        filter lets only lowercase hex through, so comparing the text compares the numbers."""

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
        """Decide sampling (the one decision of a request: a trusted peer's flag under a parent-based
        sampler, else the ratio) and rewrite the traceparent ``request.headers`` sends upstream; what
        the span needs when sampled, None when not."""
        sent = request.traceparent  # validated by the header filter: 2-32-16-2 lowercase hex digits
        if not sent.startswith("00-"):  # a future version's traceparent: propagated as it is, not traced
            return None
        flags: int | None = None
        if self._flags_count and client_host in self._trusted:  # only then can the client's flag count
            given = sent.encode("ascii")
            if any(name == b"traceparent" and value == given for name, value in raw_headers):
                flags = int(sent[53:], 16)
        # without a flag that counts (the common case), the ratio decides on the trace id's lower 64 bits
        sampled = (self._all or sent[19:35] < self._bound) if flags is None else bool(flags & 1)
        if not sampled:
            if sent[53:] != "00":
                request.traceparent = sent[:53] + "00"
                _replace_traceparent(request.headers, sent, request.traceparent)
            return None
        trace_id = int(sent[3:35], 16)
        route = decision.route
        span_id = self._ids.generate_span_id()
        request.traceparent = f"{sent[:36]}{span_id:016x}-01"
        _replace_traceparent(request.headers, sent, request.traceparent)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": path,
            "strangler.route": route,
            "strangler.decision": decision_label(decision),
            "strangler.table_version": version,
            "strangler.request_id": request.request_id,
        }
        return RequestSpan(
            f"{method} {route}",
            trace_id,
            span_id,
            int(sent[36:52], 16),
            attributes,
            decision.target.value,
            self._sink,
        )

    @staticmethod
    def finish(request_span: RequestSpan, target: str, upstream: str, status: int, error: str | None) -> None:
        """End the span with the side that answered, the upstream, the status and the outcome."""
        end = time_ns()
        attributes = request_span.attributes
        attributes["strangler.target"] = target
        attributes["strangler.upstream"] = upstream
        if target != request_span.target:
            attributes["strangler.decision"] = "fallback"
        attributes["http.response.status_code"] = status
        failed: tuple[str, str] | None = None
        if error is not None or status >= 500 or status == 0:
            attributes["strangler.outcome"] = "error"
            unhandled = sys.exc_info()[1] if status == 0 and error is None else None
            if unhandled is not None:
                # a fault of the proxy itself: its type only (its text may quote what the client sent);
                # the worker's log has the traceback
                failed = (type(unhandled).__qualname__, "unhandled error in the data plane")
            else:
                failed = ("ProxyError", error or f"answered {status}")
        else:
            attributes["strangler.outcome"] = "ok"
        request_span.sink.add(
            (
                request_span.name,
                request_span.trace_id,
                request_span.span_id,
                request_span.parent_id,
                request_span.start,
                end,
                attributes,
                failed,
            )
        )


def _replace_traceparent(headers: list[tuple[str, str]], prepared: str, traceparent: str) -> None:
    """Put the traceparent sent upstream in place of the prepared one (appended when a client's
    ``Connection`` header named it away)."""
    try:
        headers[headers.index(("traceparent", prepared))] = ("traceparent", traceparent)
    except ValueError:
        headers.append(("traceparent", traceparent))
