"""A finished request span as a plain record, and the SDK span it stands for.

A data-plane worker does not encode or export its spans itself: the OTLP exporter's protobuf encoding
and HTTP export, run by the SDK's batch processor on a thread of the worker, took the worker's
interpreter lock away from the event loop long enough to cost about a fifth of its throughput at 10 %
sampling. The worker describes each finished span as a :data:`SpanRecord` (a tuple of ints, strings and
a dict: what :mod:`marshal` writes fast) and hands it to a sink; the exporting process
(:mod:`strangler_proxy.dataplane.span_exporter`) writes each record as OTLP protobuf itself
(:mod:`strangler_proxy.dataplane.otlp_encoding`: the same span, field for field), or, when an exporter
other than OTLP is named, turns it back into the SDK's :class:`~opentelemetry.sdk.trace.ReadableSpan`
with :func:`span_from_record`.
"""

from __future__ import annotations

from typing import Any, Protocol

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

__all__ = ["ProcessorSink", "SpanRecord", "SpanSink", "span_from_record"]

SpanRecord = tuple[str, int, int, int, int, int, dict[str, Any], "tuple[str, str] | None"]
"""(name, trace id, span id, parent span id, start ns, end ns, attributes, error): ``error`` is None or
(exception type, message), recorded as the OpenTelemetry exception event at the span's end."""

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_OK = Status(StatusCode.UNSET)
SCOPE = InstrumentationScope("strangler_proxy.dataplane")


class SpanSink(Protocol):
    """Where a worker's finished spans go."""

    def add(self, record: SpanRecord) -> None: ...


def span_from_record(record: SpanRecord, resource: Any) -> ReadableSpan:
    """The SDK span a record describes: a server span whose parent is remote (the caller or the client)."""
    name, trace_id, span_id, parent_id, start, end, attributes, error = record
    events: tuple[Event, ...] = ()
    status = _OK
    if error is not None:
        kind, detail = error
        events = (Event("exception", {"exception.type": kind, "exception.message": detail}, end),)
        status = Status(StatusCode.ERROR, detail)
    return ReadableSpan(
        name,
        context=SpanContext(trace_id, span_id, False, _SAMPLED),
        parent=SpanContext(trace_id, parent_id, True, _SAMPLED),
        resource=resource,
        attributes=attributes,
        events=events,
        kind=SpanKind.SERVER,
        status=status,
        start_time=start,
        end_time=end,
        instrumentation_scope=SCOPE,
    )


class ProcessorSink:
    """Records handed to an SDK span processor in this process (tests, and a tracer made without a
    separate exporting process)."""

    __slots__ = ("_processor", "_resource")

    def __init__(self, processor: Any, resource: Any) -> None:
        self._processor = processor
        self._resource = resource

    def add(self, record: SpanRecord) -> None:
        self._processor.on_end(span_from_record(record, self._resource))
