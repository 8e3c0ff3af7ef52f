"""The worker's spans through the pipe: frames written by SpanPipe, read back by the exporting process's
pump, made into the SDK spans they describe; batches dropped (and counted) when the child is not there."""

from __future__ import annotations

import asyncio
import io
import marshal

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanKind, StatusCode

from strangler_proxy.dataplane.span_export import SpanPipe
from strangler_proxy.dataplane.span_exporter import pump
from strangler_proxy.dataplane.span_records import SpanRecord, span_from_record
from tests.support.otlp import OtlpReceiver

OK: SpanRecord = ("GET catalog", 0xABC, 0x11, 0x22, 1_000, 2_000, {"strangler.route": "catalog"}, None)
FAILED: SpanRecord = (
    "POST orders",
    0xDEF,
    0x33,
    0x44,
    3_000,
    4_000,
    {"strangler.route": "orders"},
    ("ProxyError", "answered 502"),
)


class _Recorded:
    def __init__(self) -> None:
        self.records: list[SpanRecord] = []

    def add(self, record: SpanRecord) -> None:
        self.records.append(record)


def _frame(records: list[SpanRecord]) -> bytes:
    body = marshal.dumps(records)
    return len(body).to_bytes(4, "big") + body


def test_the_pump_hands_every_record_of_every_frame_to_the_sink() -> None:
    sink = _Recorded()
    assert pump(io.BytesIO(_frame([OK]) + _frame([FAILED, OK])), sink) == 3
    assert sink.records == [OK, FAILED, OK]


def test_a_frame_cut_short_is_an_error_not_a_silent_loss() -> None:
    with pytest.raises(EOFError):
        pump(io.BytesIO(_frame([OK, FAILED])[:-3]), _Recorded())


def test_a_record_becomes_the_server_span_it_describes() -> None:
    resource = Resource.create({"service.name": "strangler-dataplane"})
    span = span_from_record(OK, resource)
    assert span.name == "GET catalog" and span.kind is SpanKind.SERVER
    assert (span.context.trace_id, span.context.span_id) == (0xABC, 0x11)
    assert span.parent is not None and span.parent.span_id == 0x22 and span.parent.is_remote
    assert (span.start_time, span.end_time) == (1_000, 2_000)
    assert span.status.status_code is StatusCode.UNSET and not span.events
    failed = span_from_record(FAILED, resource)
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description == "answered 502"
    (event,) = failed.events
    assert event.name == "exception" and event.attributes == {
        "exception.type": "ProxyError",
        "exception.message": "answered 502",
    }
    assert failed.resource.attributes["service.name"] == "strangler-dataplane"


def test_without_an_exporting_process_batches_are_dropped_and_counted() -> None:
    pipe = SpanPipe("strangler-dataplane", flush_at=2)
    pipe.add(OK)
    assert pipe.dropped == 0  # gathered, not yet written
    pipe.add(FAILED)  # the second fills the batch: written, but there is no process
    assert pipe.dropped == 2


def test_spans_reach_the_exporting_process_and_are_exported_before_it_ends(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The real child, with the SDK's console exporter: what the worker gathered before closing the pipe
    is exported when its input ends."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)

    async def run() -> None:
        pipe = SpanPipe("strangler-dataplane-test", interval_s=60)
        await pipe.start()
        pipe.add(OK)
        pipe.add(FAILED)
        await pipe.aclose()
        assert pipe.dropped == 0

    asyncio.run(run())
    out = capfd.readouterr().out
    assert '"name": "GET catalog"' in out and '"name": "POST orders"' in out
    assert out.count('"service.name": "strangler-dataplane-test"') == 2


def test_spans_reach_an_otlp_collector_written_by_the_exporting_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real child exporting OTLP over HTTP (the hand-written protobuf) to a real receiver: every
    field of the records arrives, with the resource the OTEL_* variables describe."""
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")  # exported at the end of its input
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)

        async def run() -> None:
            pipe = SpanPipe("strangler-dataplane-otlp", interval_s=60)
            await pipe.start()
            pipe.add(OK)
            pipe.add(FAILED)
            await pipe.aclose()
            assert pipe.dropped == 0

        asyncio.run(run())
        ok, failed = sorted(receiver.snapshot(), key=lambda span: span.start_ns)
    assert ok.service == failed.service == "strangler-dataplane-otlp"
    assert (ok.name, ok.trace_id, ok.span_id, ok.parent_id) == (
        "GET catalog",
        f"{0xABC:032x}",
        f"{0x11:016x}",
        f"{0x22:016x}",
    )
    assert (ok.kind, ok.start_ns, ok.attributes, ok.error, ok.events) == (
        SpanKind.SERVER.value + 1,
        1_000,
        {"strangler.route": "catalog"},
        False,
        (),
    )
    assert (failed.name, failed.error, failed.events) == ("POST orders", True, ("exception",))
