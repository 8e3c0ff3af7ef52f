"""Every service's tracing: OpenTelemetry's Flask and SQLAlchemy instrumentations, on when the standard
``OTEL_*`` variables ask for it (see :mod:`strangler_proxy.telemetry`), off otherwise.

A service's ``create_app`` calls :func:`install_tracing` before it builds its engines (the provider is
the process's global one, so the ACL's legacy client spans and the SQLAlchemy spans join the request's
trace); :func:`trace_engine` and :func:`trace_app` do nothing while tracing is off. The trace id of the
active span goes into every JSON log line (:func:`add_trace_id`, a structlog processor).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from flask import Flask
from opentelemetry import trace
from sqlalchemy import Engine

from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.telemetry import TracingConfig, current_trace_id, tracer_provider

__all__ = ["add_trace_id", "install_tracing", "step_span", "trace_app", "trace_engine", "tracing_on"]


def tracing_on() -> bool:
    """Whether this process installed an SDK provider (the API's default is a no-op proxy)."""
    return type(trace.get_tracer_provider()).__module__.startswith("opentelemetry.sdk")


def install_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the process's provider for ``service`` when the environment turns tracing on (once per
    process: a second call keeps the first provider), and Sentry when ``SENTRY_DSN`` is set. True when
    tracing is on."""
    if tracing_on():
        return True
    environ = os.environ if environ is None else environ
    init_error_tracking(service, environ)
    config = TracingConfig.from_environ(environ)
    return tracer_provider(config, service, install=True) is not None


def trace_engine(engine: Engine) -> None:
    """One span per SQL statement of ``engine`` (its text, never its parameters), when tracing is on."""
    if tracing_on():
        # the engine's own listeners, as the instrumentor attaches them: its instrument() acts once per
        # process, and a service makes more than one engine (migrations, then the app's)
        from opentelemetry import metrics
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        usage = metrics.get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
            "db.client.connections.usage"
        )
        EngineTracer(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine, usage)


def trace_app(app: Flask) -> None:
    """A server span per request, continuing the caller's W3C trace context, when tracing is on;
    unhandled errors become the span's exception events (Flask's instrumentation records them)."""
    if tracing_on():
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(
            app, tracer_provider=trace.get_tracer_provider(), excluded_urls="healthz,readyz,metrics"
        )


def add_trace_id(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: ``trace_id`` of the active span on every line written inside one."""
    trace_id = current_trace_id()
    if trace_id:
        event["trace_id"] = trace_id
    return event


def step_span(name: str, **attributes: str | int) -> Any:
    """A span around one step of a service's own work (a saga step, a compensation), child of the
    request's; an exception leaving it is recorded as the span's exception event. A no-op span while
    tracing is off."""
    return trace.get_tracer("new_services").start_as_current_span(name, attributes=attributes)
