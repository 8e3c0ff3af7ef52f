"""Tracing set-up shared by the proxy's processes, the services and the ACL: OpenTelemetry configured by
the standard ``OTEL_*`` environment variables only, off unless an exporter is named.

    TracingConfig.from_environ(os.environ)   what the environment asks for (read once, in a composition root)
    tracer_provider(config, service_name)    an SDK TracerProvider exporting OTLP over HTTP, or None when off
    current_trace_id()                       the trace id of the active span, "" when there is none

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, or
``OTEL_TRACES_EXPORTER`` names ``otlp`` (or ``otlp_proto_http``) or ``console``; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` turns it off. The sampler is the SDK's, from ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG`` (default: parent-based, always on); the OTLP exporter reads its own
``OTEL_EXPORTER_OTLP_*`` variables. Nothing happens at import: a provider exists only once a composition
root asks for one, and it is never installed as the global provider unless the caller says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

__all__ = ["TracingConfig", "current_trace_id", "tracer_provider"]

_ON_EXPORTERS = {"otlp": "otlp", "otlp_proto_http": "otlp", "console": "console"}


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """What the ``OTEL_*`` variables ask of this process."""

    enabled: bool
    exporters: tuple[str, ...] = ("otlp",)
    service_name: str | None = None
    sampler: str = "parentbased_always_on"
    sampler_arg: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TracingConfig:
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls(enabled=False)
        named = tuple(
            part.strip().lower()
            for part in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
            if part.strip()
        )
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        if named:
            exporters = tuple(dict.fromkeys(_ON_EXPORTERS[name] for name in named if name in _ON_EXPORTERS))
        else:
            exporters = ("otlp",) if endpoint else ()
        return cls(
            enabled=bool(exporters),
            exporters=exporters or ("otlp",),
            service_name=environ.get("OTEL_SERVICE_NAME") or None,
            sampler=(environ.get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").strip().lower(),
            sampler_arg=environ.get("OTEL_TRACES_SAMPLER_ARG") or None,
        )

    @property
    def ratio(self) -> float:
        """The share of root traces sampled: 1 for ``always_on``, 0 for ``always_off``, the argument
        (default 1) for ``traceidratio`` samplers."""
        if self.sampler.endswith("always_off"):
            return 0.0
        if self.sampler.endswith("traceidratio"):
            try:
                return min(max(float(self.sampler_arg or "1"), 0.0), 1.0)
            except ValueError:
                return 1.0
        return 1.0

    @property
    def parent_based(self) -> bool:
        return self.sampler.startswith("parentbased_")


def tracer_provider(
    config: TracingConfig, service_name: str, *, install: bool = False, sampler: Any = None
) -> Any:
    """An SDK provider for ``service_name`` (``OTEL_SERVICE_NAME`` wins) exporting in batches, or None
    when tracing is off. ``sampler`` replaces the one the environment names (the data plane samples by
    itself and gives ``ALWAYS_ON``). ``install`` makes it the process's global provider (instrumentations
    look it up there); the SDK is imported only here, so a process with tracing off never loads it."""
    if not config.enabled:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    provider = TracerProvider(
        sampler=sampler, resource=Resource.create({SERVICE_NAME: config.service_name or service_name})
    )
    for name in config.exporters:
        exporter: SpanExporter
        if name == "console":
            exporter = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if install:
        trace.set_tracer_provider(provider)
    return provider


def current_trace_id() -> str:
    """The active span's trace id as 32 hex digits, "" outside any trace (for log lines)."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else ""
