"""The exporting process of one data-plane worker: ``python -m strangler_proxy.dataplane.span_exporter NAME``.

Reads the frames :class:`strangler_proxy.dataplane.span_export.SpanPipe` writes on its stdin (a 4-byte
length, then a :mod:`marshal`-ed list of span records) and exports them as the ``OTEL_*`` variables
say; ``NAME`` is the service name unless ``OTEL_SERVICE_NAME`` gives one (``OTEL_RESOURCE_ATTRIBUTES``
and the SDK's resource detection apply as in every other process):

    OTLP only (the usual case)   each record written as OTLP protobuf by hand
                                 (:mod:`~strangler_proxy.dataplane.otlp_encoding`), batched
                                 (:mod:`~strangler_proxy.dataplane.otlp_batches`) and POSTed
                                 (:mod:`~strangler_proxy.dataplane.otlp_http`): about 6 us a span
                                 where the SDK's encoding took about 40
    any other exporter named     each record made an SDK span, through the SDK's batch processor
                                 and the exporters named (``console`` in tests)

It ignores SIGINT and SIGTERM (a stack's stop signals its whole process group): it ends when its input
does, after exporting what it holds, so a worker's last spans are not lost and a worker that dies
leaves no exporter behind.
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
from typing import TYPE_CHECKING, BinaryIO

from strangler_proxy.dataplane.span_records import SpanSink

if TYPE_CHECKING:
    from strangler_proxy.dataplane.otlp_batches import SpanBatcher
    from strangler_proxy.telemetry import TracingConfig

__all__ = ["main", "pump"]


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        part = stream.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def pump(stream: BinaryIO, sink: SpanSink) -> int:
    """Hand every record of every frame of ``stream`` to ``sink`` until the stream ends; the count."""
    count = 0
    while True:
        head = _read_exactly(stream, 4)
        if head is None:
            return count
        body = _read_exactly(stream, int.from_bytes(head, "big"))
        if body is None:
            raise EOFError("the span pipe ended in the middle of a frame")
        for record in marshal.loads(body):
            sink.add(record)
            count += 1


def _hand_encoded(config: TracingConfig, service_name: str) -> SpanBatcher:
    """The OTLP/HTTP path: records written as protobuf by hand, batched and POSTed (no SDK span)."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    from strangler_proxy.dataplane.otlp_batches import BatchLimits, SpanBatcher
    from strangler_proxy.dataplane.otlp_encoding import SpanEncoder
    from strangler_proxy.dataplane.otlp_http import OtlpHttpSender
    from strangler_proxy.dataplane.span_records import SCOPE

    resource = Resource.create({SERVICE_NAME: config.service_name or service_name})
    encoder = SpanEncoder(resource.attributes, SCOPE.name, SCOPE.version, resource.schema_url)
    return SpanBatcher(encoder, OtlpHttpSender.from_environ(os.environ), BatchLimits.from_environ(os.environ))


def main(argv: list[str] | None = None) -> int:
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    from strangler_proxy.dataplane.span_records import ProcessorSink
    from strangler_proxy.telemetry import TracingConfig, tracer_provider

    args = sys.argv[1:] if argv is None else argv
    service_name = args[0] if args else "strangler-dataplane"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    config = TracingConfig.from_environ(os.environ)
    if config.enabled and config.exporters == ("otlp",):
        batcher = _hand_encoded(config, service_name)
        try:
            pump(sys.stdin.buffer, batcher)
        finally:
            batcher.close()
        return 0
    provider = tracer_provider(config, service_name, sampler=ALWAYS_ON)
    if provider is None:  # tracing off: read and forget, so the worker never blocks
        for _ in iter(lambda: sys.stdin.buffer.read(65536), b""):
            pass
        return 0
    tracer = provider.get_tracer("strangler_proxy.dataplane")
    try:
        pump(sys.stdin.buffer, ProcessorSink(tracer.span_processor, tracer.resource))
    finally:
        provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
