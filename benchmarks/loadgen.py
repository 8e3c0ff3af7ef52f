"""A lean HTTP/1.1 load generator (raw asyncio on uvloop), run in its own process by the benchmarks.

    python -m benchmarks.loadgen --port 8000 --path /api/x --connections 32 --duration 5
    python -m benchmarks.loadgen --port 8000 --connections 1000 --requests 100000

Each connection sends one request at a time (keep-alive, no pipelining) and times it. It prints one JSON
document: requests, errors, seconds, rps and latency percentiles in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import uvloop

__all__ = ["complete_answer", "main"]


class _Client(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self._run = run
        self._buffer = b""
        self._started = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self._run.stopping:
            self._run.errors += 1

    def _send(self) -> None:
        if not self._run.take():
            assert self.transport is not None
            self.transport.close()
            return
        self._started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self._run.request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        answer = complete_answer(buffer)
        if answer is None:
            self._buffer = buffer
            return
        head, self._buffer = answer
        run = self._run
        if head[9:12] != b"200":
            run.errors += 1
        run.latencies.append(time.perf_counter() - self._started)
        self._send()


def complete_answer(buffer: bytes) -> tuple[bytes, bytes] | None:
    """(the head in lower case, what follows) of the first complete answer in ``buffer``, or None while
    it is incomplete. Answers must carry Content-Length (the benchmarks' backends always do)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].lower()
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError("responses must carry Content-Length")
    stop = head.find(b"\r\n", at + 2)
    length = int(head[at + 17 : stop if stop >= 0 else len(head)])
    if len(buffer) < end + 4 + length:
        return None
    return head, buffer[end + 4 + length :]


class _Run:
    def __init__(self, request: bytes, *, total: int | None, deadline: float | None) -> None:
        self.request = request
        self.remaining = total
        self.deadline = deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.stopping = False

    def take(self) -> bool:
        if self.stopping:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                self.stopping = True
                return False
            self.remaining -= 1
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.stopping = True
            return False
        return True


async def _main(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: loadgen\r\nAccept: */*\r\n\r\n".encode()
    )
    started = time.perf_counter()
    deadline = started + args.duration if args.duration else None
    run = _Run(request, total=args.requests, deadline=deadline)
    clients = []
    for _ in range(args.connections):
        _transport, client = await loop.create_connection(lambda: _Client(run), "127.0.0.1", args.port)
        clients.append(client)
    await asyncio.gather(*(c.closed for c in clients))
    elapsed = time.perf_counter() - started
    latencies = sorted(run.latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6 if latencies else 0.0

    return {
        "requests": len(latencies),
        "errors": run.errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=0.0)
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    if not args.duration and not args.requests:
        parser.error("give --duration or --requests")
    json.dump(uvloop.run(_main(args)), sys.stdout)


if __name__ == "__main__":
    main()
