"""The ACL's spans: each call of the legacy client (a CLIENT span whose context goes to the monolith in
``traceparent``), each sync event relayed or applied (linked to the trace of the transaction that wrote
it). Everything goes through the OpenTelemetry API: a process that installed no SDK provider (tracing
off) gets no-op spans and sends no trace headers of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

__all__ = ["TRACE_KEY", "client_span", "current_trace_context", "event_group_span", "inject_context"]

_TRACER_NAME = "acl"
TRACE_KEY = "_trace"
"""Where a service's outbox row keeps the trace context of the transaction that wrote it (in its
payload: the row has no column for it), taken out again when the row is read."""


@contextmanager
def client_span(name: str, attributes: dict[str, Any], headers: dict[str, str]) -> Iterator[Span]:
    """A CLIENT span around one call to the monolith; its context is written into ``headers``
    (W3C ``traceparent`` and ``baggage``) so the monolith's span is its child. An exception leaving the
    block is recorded on the span as its exception event (message and type, nothing of the headers)."""
    tracer = trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        propagate.inject(headers)
        yield span


def inject_context(carrier: dict[str, str]) -> dict[str, str]:
    """The active trace context as W3C headers (empty outside a sampled trace)."""
    propagate.inject(carrier)
    return carrier


def current_trace_context() -> dict[str, str]:
    """The active span's W3C context when it is sampled (what an outbox row keeps), else empty."""
    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {key: value for key, value in carrier.items() if key in ("traceparent", "tracestate")}


def event_group_span(
    name: str,
    context: Mapping[str, str],
    event_ids: Sequence[str],
    event_types: Sequence[str],
    *,
    kind: SpanKind = SpanKind.PRODUCER,
) -> Any:
    """A span (PRODUCER by default), child of the trace that wrote these events, around their delivery
    (the monolith's apply becomes its grandchild through the legacy client's span) or, as a CONSUMER
    span, around their apply in a service; no span at all for events that carry no context."""
    if not context:
        return nullcontext()
    parent = propagate.extract(dict(context))
    return trace.get_tracer(_TRACER_NAME).start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes={
            "messaging.batch.message_count": len(event_ids),
            "strangler.sync.event_ids": list(event_ids),
            "strangler.sync.event_types": sorted(set(event_types)),
        },
    )
