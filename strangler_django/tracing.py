"""Tracing of the monolith from the toolkit's Django app: Django's OpenTelemetry instrumentation, on
when the standard ``OTEL_*`` variables ask for it, set up when the app is ready (before the WSGI handler
loads its middleware), so a monolith that installs the app needs no launcher and no code of its own.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set or
``OTEL_TRACES_EXPORTER`` names ``otlp``/``otlp_proto_http``; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keeps it off. OpenTelemetry is an optional dependency of the app: with
tracing off it is never imported; with tracing on and the packages missing, the app says so at start.
A process already instrumented (``opentelemetry-instrument``) is left as it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["current_trace_context", "current_trace_id", "instrument_from_environment", "tracing_requested"]

_ON = {"otlp", "otlp_proto_http"}


def tracing_requested(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    named = {
        part.strip().lower() for part in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if part.strip()
    }
    if named:
        return bool(named & _ON)
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def instrument_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Instrument Django (a server span per request, continuing the caller's W3C context, exceptions
    as the span's events) and install an OTLP/HTTP exporting provider; True when tracing is on."""
    environ = os.environ if environ is None else environ
    if not tracing_requested(environ):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError(
            "the OTEL_* variables turn tracing on but OpenTelemetry is not installed: install "
            "opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http and "
            "opentelemetry-instrumentation-django, or unset them"
        ) from exc
    instrumentor = DjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return True  # opentelemetry-instrument got there first
    if not type(trace.get_tracer_provider()).__module__.startswith("opentelemetry.sdk"):
        name = environ.get("OTEL_SERVICE_NAME") or "legacy-monolith"
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    instrumentor.instrument()
    return True


def current_trace_context() -> dict[str, str]:
    """The W3C context (``traceparent``, ``tracestate``) of the active span when it is sampled, else
    empty: what an outbox row keeps so the sync consumers' apply joins the request's trace. Empty too
    when OpenTelemetry was never loaded (tracing off): nothing is imported for it."""
    if "opentelemetry.trace" not in sys.modules:
        return {}
    from opentelemetry import propagate, trace

    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {key: value for key, value in carrier.items() if key in ("traceparent", "tracestate")}


def current_trace_id() -> str:
    """The active span's trace id as 32 hex digits; "" outside a span or when OpenTelemetry was never
    loaded (tracing off: nothing is imported for it)."""
    if "opentelemetry.trace" not in sys.modules:
        return ""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else ""
