"""The exporting process's batches of hand-encoded spans: the OTEL_BSP_* limits, a bounded queue whose
drops are counted and logged, failed exports counted, everything queued exported at close."""

from __future__ import annotations

import logging
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from strangler_proxy.dataplane.otlp_batches import BatchLimits, SpanBatcher
from strangler_proxy.dataplane.otlp_encoding import SpanEncoder
from strangler_proxy.dataplane.span_records import SpanRecord

pytestmark = pytest.mark.unit


def _record(span_id: int) -> SpanRecord:
    return ("GET catalog", 0xABC, span_id, 0x1, 1_000, 2_000, {"strangler.route": "catalog"}, None)


class _Sender:
    """Records each export's span ids; answers as told; can hold an export until released."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.batches: list[list[int]] = []
        self.closed = False
        self.release = threading.Event()
        self.release.set()
        self.sent = threading.Event()

    def send(self, body: bytes) -> bool:
        self.release.wait(10)
        (resource_spans,) = ExportTraceServiceRequest.FromString(body).resource_spans
        (scope_spans,) = resource_spans.scope_spans
        self.batches.append([int.from_bytes(span.span_id, "big") for span in scope_spans.spans])
        self.sent.set()
        return self.accept

    def close(self) -> None:
        self.closed = True


def _batcher(sender: _Sender, limits: BatchLimits) -> SpanBatcher:
    return SpanBatcher(SpanEncoder({"service.name": "test"}, "strangler_proxy.dataplane"), sender, limits)


def test_the_limits_come_from_the_bsp_variables_with_the_sdks_defaults(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert BatchLimits.from_environ({}) == BatchLimits(2048, 512, 5.0)
    given = {
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
        "OTEL_BSP_SCHEDULE_DELAY": "250",
    }
    assert BatchLimits.from_environ(given) == BatchLimits(100, 10, 0.25)
    # a batch never exceeds the queue; a wrong value is said, and the default used
    assert BatchLimits.from_environ({"OTEL_BSP_MAX_QUEUE_SIZE": "8"}).max_export_batch_size == 8
    with caplog.at_level(logging.ERROR):
        assert BatchLimits.from_environ({"OTEL_BSP_SCHEDULE_DELAY": "soon"}).schedule_delay_s == 5.0
    assert "OTEL_BSP_SCHEDULE_DELAY='soon' is not an integer" in caplog.text


def test_a_full_batch_is_exported_at_once_and_the_rest_at_close() -> None:
    sender = _Sender()
    batcher = _batcher(sender, BatchLimits(max_queue_size=100, max_export_batch_size=3, schedule_delay_s=60))
    for span_id in range(1, 5):
        batcher.add(_record(span_id))
    assert sender.sent.wait(10), "a full batch waited for the schedule delay"
    batcher.close()
    assert sender.batches == [[1, 2, 3], [4]]
    assert sender.closed and batcher.dropped == 0 and batcher.failed == 0


def test_spans_are_exported_after_the_schedule_delay_without_a_full_batch() -> None:
    sender = _Sender()
    batcher = _batcher(
        sender, BatchLimits(max_queue_size=100, max_export_batch_size=50, schedule_delay_s=0.05)
    )
    batcher.add(_record(7))
    assert sender.sent.wait(10)
    assert sender.batches == [[7]]
    batcher.close()


def test_a_full_queue_drops_its_oldest_spans_counts_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    sender = _Sender()
    sender.release.clear()  # the collector is slow: the first export holds on
    batcher = _batcher(sender, BatchLimits(max_queue_size=4, max_export_batch_size=2, schedule_delay_s=60))
    with caplog.at_level(logging.WARNING):
        batcher.add(_record(1))
        batcher.add(_record(2))  # a full batch: taken by the export thread, which waits on the sender
        for span_id in range(3, 10):
            batcher.add(_record(span_id))
        sender.release.set()
        batcher.close()
    exported = [span_id for batch in sender.batches for span_id in batch]
    assert exported[-4:] == [6, 7, 8, 9]  # the newest four were kept
    assert batcher.dropped == 9 - len(exported)
    assert batcher.dropped >= 3
    assert "the span export queue is full" in caplog.text
    assert f"{batcher.dropped} spans dropped before export" in caplog.text


def test_failed_exports_are_counted_and_a_record_that_cannot_be_encoded_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = _Sender(accept=False)
    batcher = _batcher(sender, BatchLimits(max_queue_size=10, max_export_batch_size=10, schedule_delay_s=60))
    with caplog.at_level(logging.WARNING):
        batcher.add(_record(1))
        batcher.add(("GET x", 0x1, 0x2, 0x3, 1, 2, {"bad": object()}, None))
        batcher.close()
    assert sender.batches == [[1]]
    assert (batcher.dropped, batcher.failed) == (1, 1)
    assert "a span record could not be encoded" in caplog.text
    assert "1 spans dropped before export, 1 in failed exports" in caplog.text
