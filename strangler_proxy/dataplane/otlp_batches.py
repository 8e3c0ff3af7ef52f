"""The exporting process's batch processor for hand-encoded spans (what the SDK's BatchSpanProcessor
does for SDK spans, with the same ``OTEL_BSP_*`` variables and defaults)::

    pump thread:   record -> SpanEncoder.span (bytes) -> bounded queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048)
    export thread: every OTEL_BSP_SCHEDULE_DELAY ms (5000), or as soon as OTEL_BSP_MAX_EXPORT_BATCH_SIZE
                   (512) spans wait: up to that many as one request, POSTed by the sender

When the queue is full the oldest span is dropped (as the SDK does) and counted, with a warning at most
once a minute; a record that cannot be encoded is dropped, counted and logged as an error. Closing
exports what is queued, then logs how many spans were dropped in all, if any.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from strangler_proxy.dataplane.otlp_encoding import SpanEncoder
from strangler_proxy.dataplane.span_records import SpanRecord

__all__ = ["BatchLimits", "SpanBatcher"]

logger = logging.getLogger(__name__)

_WARN_EVERY_S = 60.0
_MAX_QUEUE_SIZE = 2048
_MAX_EXPORT_BATCH_SIZE = 512
_SCHEDULE_DELAY_MS = 5000


class Sender(Protocol):
    def send(self, body: bytes) -> bool: ...

    def close(self) -> None: ...


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        logger.error("%s=%r is not an integer: %d used", name, raw, default)
        return default
    if value <= 0:
        logger.error("%s=%r is not positive: %d used", name, raw, default)
        return default
    return value


@dataclass(frozen=True, slots=True)
class BatchLimits:
    max_queue_size: int = _MAX_QUEUE_SIZE
    max_export_batch_size: int = _MAX_EXPORT_BATCH_SIZE
    schedule_delay_s: float = _SCHEDULE_DELAY_MS / 1000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> BatchLimits:
        queue = _positive(environ, "OTEL_BSP_MAX_QUEUE_SIZE", _MAX_QUEUE_SIZE)
        batch = _positive(environ, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", _MAX_EXPORT_BATCH_SIZE)
        delay_ms = _positive(environ, "OTEL_BSP_SCHEDULE_DELAY", _SCHEDULE_DELAY_MS)
        return cls(queue, min(batch, queue), delay_ms / 1000)


class SpanBatcher:
    """A :class:`~strangler_proxy.dataplane.span_records.SpanSink` exporting encoded spans in batches."""

    def __init__(self, encoder: SpanEncoder, sender: Sender, limits: BatchLimits) -> None:
        self._encoder = encoder
        self._sender = sender
        self._limits = limits
        self._queue: collections.deque[bytes] = collections.deque()
        self._wake = threading.Condition()
        self._closing = False
        self.dropped = 0
        """Spans not exported: the queue was full, or the record could not be encoded."""
        self.failed = 0
        """Spans in exports the collector did not accept (each failure is logged by the sender)."""
        self._warned_at = -_WARN_EVERY_S
        self._thread = threading.Thread(target=self._export_forever, name="otlp-export", daemon=True)
        self._thread.start()

    def add(self, record: SpanRecord) -> None:
        try:
            span = self._encoder.span(record)
        except (TypeError, ValueError, OverflowError, AttributeError) as error:
            self.dropped += 1
            logger.error("a span record could not be encoded (%s): dropped", error)
            return
        queue = self._queue
        if len(queue) >= self._limits.max_queue_size:
            queue.popleft()
            self.dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_S:
                self._warned_at = now
                logger.warning("the span export queue is full: %d spans dropped so far", self.dropped)
        queue.append(span)
        if len(queue) == self._limits.max_export_batch_size:
            with self._wake:
                self._wake.notify()

    def _take(self) -> list[bytes]:
        """Up to a batch of the oldest spans (``add`` may drop one meanwhile: the queue can run short)."""
        queue = self._queue
        batch: list[bytes] = []
        with contextlib.suppress(IndexError):
            for _ in range(min(len(queue), self._limits.max_export_batch_size)):
                batch.append(queue.popleft())
        return batch

    def _export_forever(self) -> None:
        limits = self._limits
        while True:
            with self._wake:
                if not self._closing and len(self._queue) < limits.max_export_batch_size:
                    self._wake.wait(limits.schedule_delay_s)
                closing = self._closing
            while self._queue:
                batch = self._take()
                if not batch:
                    break
                if not self._sender.send(self._encoder.request(batch)):
                    self.failed += len(batch)
                if not closing and len(self._queue) < limits.max_export_batch_size:
                    break
            if closing:
                return

    def close(self) -> None:
        """Export what is queued and stop; the totals of dropped and failed spans are logged."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        self._sender.close()
        if self.dropped or self.failed:
            logger.warning(
                "span export ended: %d spans dropped before export, %d in failed exports",
                self.dropped,
                self.failed,
            )
