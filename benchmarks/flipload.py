"""Load that outlives what a route change does to connections, counting every request a client would lose.

    python -m benchmarks.flipload --port 8000 --path /api/x --connections 32 --duration 10

Like :mod:`benchmarks.loadgen` (keep-alive, one request at a time per connection), but a connection the
server closes is opened again, so the run goes on through reloads. A request is **failed** when its
answer is not 2xx, or when the connection breaks after the request was written and before its answer was
complete (what a browser or an HTTP client sees as an error on a non-idempotent request); a connection
closed between two requests (idle) is counted apart and is not a failure, since nothing was lost. An
answer carrying ``Connection: close`` is fine; the next request goes over a new connection. SIGTERM
ends the run early (each connection finishes its request). Prints one JSON document: requests, failed,
lost_in_flight, bad_status, connect_failures, idle_closes, reconnects, seconds, rps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

import uvloop

from benchmarks.loadgen import complete_answer

__all__ = ["main"]


class _Counts:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.requests = 0
        self.bad_status = 0
        self.lost_in_flight = 0
        self.idle_closes = 0
        self.reconnects = 0
        self.connect_failures = 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``done`` resolves when it closed (by either side)."""

    def __init__(self, request: bytes, counts: _Counts) -> None:
        self._request = request
        self._counts = counts
        self._buffer = b""
        self._in_flight = False
        self._close_after = False
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.monotonic() >= self._counts.deadline or self._close_after:
            self.transport.close()
            return
        self._in_flight = True
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        answer = complete_answer(buffer)
        if answer is None:
            self._buffer = buffer
            return
        head, self._buffer = answer
        self._in_flight = False
        self._counts.requests += 1
        if head[9:10] != b"2":
            self._counts.bad_status += 1
        self._close_after = b"\r\nconnection: close" in head
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._in_flight:
            self._counts.lost_in_flight += 1
        elif time.monotonic() < self._counts.deadline and not self._close_after:
            self._counts.idle_closes += 1
        if not self.done.done():
            self.done.set_result(None)


async def _client(port: int, request: bytes, counts: _Counts) -> None:
    loop = asyncio.get_running_loop()
    first = True
    while time.monotonic() < counts.deadline:
        if not first:
            counts.reconnects += 1
        first = False
        try:
            _transport, connection = await loop.create_connection(
                lambda: _Connection(request, counts), "127.0.0.1", port
            )
        except OSError:
            counts.connect_failures += 1
            await asyncio.sleep(0.01)
            continue
        await connection.done


async def _main(args: argparse.Namespace) -> dict[str, object]:
    request = f"GET {args.path} HTTP/1.1\r\nHost: bench.test\r\nAccept: */*\r\n\r\n".encode()
    started = time.monotonic()
    counts = _Counts(started + args.duration)

    def stop() -> None:
        counts.deadline = min(counts.deadline, time.monotonic())

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
    await asyncio.gather(*(_client(args.port, request, counts) for _ in range(args.connections)))
    elapsed = time.monotonic() - started
    return {
        "requests": counts.requests,
        "failed": counts.bad_status + counts.lost_in_flight + counts.connect_failures,
        "bad_status": counts.bad_status,
        "lost_in_flight": counts.lost_in_flight,
        "connect_failures": counts.connect_failures,
        "idle_closes": counts.idle_closes,
        "reconnects": counts.reconnects,
        "seconds": elapsed,
        "rps": counts.requests / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, required=True)
    json.dump(uvloop.run(_main(parser.parse_args())), sys.stdout)


if __name__ == "__main__":
    main()
