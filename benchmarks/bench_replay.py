"""The shadow process's replay client against aiohttp, side by side: CPU time per replayed request.

The shadow process replays every shadowed request on the CPU time the machine leaves over, so its CPU
per replay decides whether it keeps up with the primary path. One process (pinned to one core, the
backend on the other) replays the same GET with the same forwarded headers against the benchmark's
JSON backend, 32 at a time, reading whole answers:

    replay_cpu_us            CPU time per request through ``ReplayClient``
    aiohttp_cpu_us           the same through aiohttp (``UpstreamClient`` over the data plane's session)
    replay_cpu_vs_aiohttp    the ratio (median of the rounds' ratios; lower is cheaper)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop
from yarl import URL

from benchmarks.processes import Child, cpu_split, free_port, pin, wait_port
from strangler_proxy.dataplane.shadow.replay_client import ReplayClient
from strangler_proxy.dataplane.upstream_request import ClientTimeouts, UpstreamClient
from strangler_proxy.dataplane.upstream_session import upstream_session
from strangler_proxy.routes.model import Timeouts

__all__ = ["run"]

TARGET = b"/api/products/42?expand=tags"
HEADERS = [
    ("host", "shop.example"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"),
    ("accept", "application/json"),
    ("accept-encoding", "gzip, deflate"),
    ("cookie", "csrftoken=abc123; sessionid=k2j3h4k2j3h4"),
    ("traceparent", "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"),
    ("x-request-id", "0123456789abcdef0123456789abcdef"),
    ("x-forwarded-for", "203.0.113.7"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "shop.example"),
    ("x-strangler-shadow", "1"),
]
CONNECTIONS = 32
REQUESTS = 20_000
ROUNDS = 5
MAX_BODY = 1024 * 1024

Replay = Callable[[], Awaitable[int]]


async def _through_aiohttp(base: str) -> tuple[Replay, Callable[[], Awaitable[None]]]:
    session = upstream_session(pool_size=CONNECTIONS)
    client = UpstreamClient(session)
    url = URL(base + TARGET.decode("latin-1"), encoded=True)
    timeout = ClientTimeouts().get(Timeouts())

    async def one() -> int:
        response = await client.send("GET", url, HEADERS, None, timeout)
        try:
            body = await response.read()
            return response.status if len(body) <= MAX_BODY else 0
        finally:
            response.release()

    return one, session.close


async def _through_replay_client(base: str) -> tuple[Replay, Callable[[], Awaitable[None]]]:
    client = ReplayClient(pool_size=CONNECTIONS, max_body_bytes=MAX_BODY)
    origin = client.origin(base)
    timeouts = Timeouts()

    async def one() -> int:
        answer = await client.request(
            origin, "GET", TARGET, HEADERS, b"", connect_s=timeouts.connect_s, read_s=timeouts.read_s
        )
        return answer.status

    return one, client.aclose


async def _cpu_per_request(replay: Replay, requests: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            status = await replay()
            if status != 200:
                raise RuntimeError(f"the backend answered {status}")

    started = time.process_time()
    await asyncio.gather(*(worker(requests // CONNECTIONS) for _ in range(CONNECTIONS)))
    return (time.process_time() - started) / (requests // CONNECTIONS * CONNECTIONS) * 1e6


async def _measure(base: str) -> dict[str, list[float]]:
    clients = {"replay": await _through_replay_client(base), "aiohttp": await _through_aiohttp(base)}
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for replay, _ in clients.values():  # warm-up: pools filled, code paths hot
            await _cpu_per_request(replay, 2_000)
        for _ in range(ROUNDS):
            for name, (replay, _) in clients.items():
                cpu[name].append(await _cpu_per_request(replay, REQUESTS))
    finally:
        for _, close in clients.values():
            await close()
    return cpu


def run() -> list[str]:
    own_cpus, backend_cpus = cpu_split()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        port = free_port()
        backend = Child(
            [sys.executable, "-m", "benchmarks.backend", "--port", str(port)],
            log=Path(tmp) / "backend.log",
            cpus=backend_cpus,
        )
        try:
            wait_port(port, backend)
            previous = os.sched_getaffinity(0)
            pin(0, own_cpus)
            try:
                cpu = uvloop.run(_measure(f"http://127.0.0.1:{port}"))
            finally:
                os.sched_setaffinity(0, previous)
        finally:
            backend.stop()
    ratio = statistics.median(r / a for r, a in zip(cpu["replay"], cpu["aiohttp"], strict=True))
    return [
        f"replay_cpu_us: {statistics.median(cpu['replay']):.1f}",
        f"aiohttp_cpu_us: {statistics.median(cpu['aiohttp']):.1f}",
        f"replay_cpu_vs_aiohttp: {ratio:.2f}",
        f"# {REQUESTS} GETs per round, {CONNECTIONS} at a time, {ROUNDS} rounds alternating the clients",
    ]
