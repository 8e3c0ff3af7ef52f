"""A worker's spans leave through a pipe to an exporting process of its own.

    worker (event loop)                                   exporting process
    RequestTracer.finish -> SpanPipe.add(record)          python -m strangler_proxy.dataplane.span_exporter
      every ``interval_s`` or ``flush_at`` records:         reads frames from stdin, makes each record an
      one frame (4-byte length + marshal of the list)  ->   SDK span, batch processor + OTLP exporter
      written to the child's stdin, never waiting            (the ``OTEL_*`` variables, inherited)

Encoding and exporting spans therefore never take the worker's interpreter lock. Writing never blocks
the event loop: when the child falls behind by more than ``max_buffer_bytes``, or has died, batches are
dropped and counted, with a warning at most once a minute (like the SDK's batch processor, which drops
spans when its queue is full). The child ignores SIGINT and SIGTERM and ends at the end of its input,
so spans still queued at a worker's shutdown are exported: the worker closes the pipe and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import marshal
import sys
import time

from strangler_proxy.dataplane.span_records import SpanRecord

__all__ = ["SpanPipe"]

logger = logging.getLogger(__name__)

FLUSH_AT = 512
INTERVAL_S = 0.5
MAX_BUFFER_BYTES = 8 * 1024 * 1024
_WARN_EVERY_S = 60.0


class SpanPipe:
    """The worker's end of the pipe (a :class:`~strangler_proxy.dataplane.span_records.SpanSink`)."""

    def __init__(
        self,
        service_name: str,
        *,
        flush_at: int = FLUSH_AT,
        interval_s: float = INTERVAL_S,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
    ) -> None:
        self._service_name = service_name
        self._flush_at = flush_at
        self._interval_s = interval_s
        self._max_buffer_bytes = max_buffer_bytes
        self._batch: list[SpanRecord] = []
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        """Spans not handed to the exporting process (it had died, or fell too far behind)."""
        self._warned_at = -_WARN_EVERY_S

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "strangler_proxy.dataplane.span_exporter",
            self._service_name,
            stdin=asyncio.subprocess.PIPE,
        )
        self._task = asyncio.get_running_loop().create_task(self._flush_forever(), name="span-export")

    def add(self, record: SpanRecord) -> None:
        batch = self._batch
        batch.append(record)
        if len(batch) >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        """Write what was gathered as one frame (never waits)."""
        batch = self._batch
        if not batch:
            return
        self._batch = []
        process = self._process
        stdin = None if process is None else process.stdin
        if process is None or stdin is None or process.returncode is not None or stdin.is_closing():
            self._drop(len(batch), "the span exporting process is not running")
            return
        if stdin.transport.get_write_buffer_size() > self._max_buffer_bytes:
            self._drop(len(batch), "the span exporting process is falling behind")
            return
        data = marshal.dumps(batch)
        stdin.write(len(data).to_bytes(4, "big") + data)

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            logger.warning("%s: %d spans dropped so far", why, self.dropped)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            self.flush()

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Hand over what is gathered, end the child's input and wait for it to export and exit."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
            with contextlib.suppress(ConnectionError):
                await process.stdin.wait_closed()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            logger.warning("the span exporting process did not finish in %.0f s: stopped", timeout_s)
            process.kill()
            await process.wait()
