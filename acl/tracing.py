"""The ACL's spans: each call of the legacy client (a CLIENT span whose context goes to the monolith in
``traceparent``), each sync event relayed or applied (linked to the trace of the transaction that wrote
it). Everything goes through the OpenTelemetry API: a process that installed no SDK provider (tracing
off) gets no-op spans and sends no trace headers of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

__all__ = ["client_span", "inject_context"]

_TRACER_NAME = "acl"


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
