"""The app traces the monolith only when the standard OTEL_* variables ask for it."""

from __future__ import annotations

from strangler_django.tracing import instrument_from_environment, tracing_requested


def test_tracing_is_requested_by_the_standard_variables_only() -> None:
    assert not tracing_requested({})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "otlp_proto_http"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"})
    assert not tracing_requested({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"})


def test_off_without_them_nothing_is_imported_or_instrumented() -> None:
    assert instrument_from_environment({}) is False
