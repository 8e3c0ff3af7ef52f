"""Load for the soak: a closed-loop capacity probe (reads only), then paced (open-loop) traffic at a fixed
rate, both cycling through the soak's paths (:func:`~migration_plan.toolbox.soak.traffic.soak_paths`);
the paced traffic sends the write probe's writes in place of a share of the reads
(:func:`~migration_plan.toolbox.soak.traffic.soak_request`)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from migration_plan.toolbox.soak.traffic import SoakWrite, soak_request

__all__ = ["LoadCounts", "measure_capacity", "paced_load"]


@dataclass
class LoadCounts:
    requests: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    by_upstream: Counter[str] = field(default_factory=Counter)
    late: int = 0
    """Requests sent more than a second behind their slot (the generator could not keep the pace)."""
    writes: int = 0
    """Writes among ``requests``."""
    failed_writes: int = 0
    """Failed writes, also counted in ``failed`` (their kinds in ``failures`` start with ``write``)."""

    def record_failure(self, what: str) -> None:
        self.failed += 1
        self.failures[what] += 1

    def record_write_failure(self, what: str) -> None:
        self.failed_writes += 1
        self.record_failure(f"write {what}")


def _session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, force_close=False),
        timeout=aiohttp.ClientTimeout(total=10),
    )


async def _one(session: aiohttp.ClientSession, url: str, counts: LoadCounts) -> None:
    counts.requests += 1
    try:
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                counts.record_failure(f"status {response.status}")
            else:
                counts.by_upstream[response.headers.get("x-upstream", "?")] += 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        counts.record_failure(type(exc).__name__)


async def _write(session: aiohttp.ClientSession, base_url: str, write: SoakWrite, counts: LoadCounts) -> None:
    """Send ``write`` once. It is never retried, by this code or by aiohttp: aiohttp (3.14, the locked
    version) resends a request on a reused connection that ended before its answer only when its
    method is in ``aiohttp.client.IDEMPOTENT_METHODS`` (GET, HEAD, OPTIONS, TRACE, PUT, DELETE; see
    ``retry_persistent_connection`` in ``ClientSession._request``), and a POST is not."""
    counts.requests += 1
    counts.writes += 1
    auth = aiohttp.BasicAuth(*write.auth) if write.auth is not None else None
    try:
        async with session.post(base_url + write.path, json=dict(write.body), auth=auth) as response:
            await response.read()
            if response.status != 200:
                counts.record_write_failure(f"status {response.status}")
            else:
                counts.by_upstream[response.headers.get("x-upstream", "?")] += 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        counts.record_write_failure(type(exc).__name__)


async def measure_capacity(base_url: str, paths: Sequence[str], *, seconds: float, concurrency: int) -> float:
    """Requests per second the proxy completes with ``concurrency`` clients that never wait."""
    counts = LoadCounts()
    async with _session(concurrency) as session:
        deadline = time.monotonic() + seconds

        async def client(index: int) -> None:
            n = index
            while time.monotonic() < deadline:
                await _one(session, base_url + paths[n % len(paths)], counts)
                n += 1

        start = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(concurrency)))
        elapsed = time.monotonic() - start
    if counts.failed:
        raise RuntimeError(f"the capacity probe itself saw failures: {dict(counts.failures)}")
    return (counts.requests - counts.failed) / elapsed


async def paced_load(
    base_url: str,
    paths: Sequence[str],
    *,
    rate: float,
    seconds: float,
    concurrency: int,
    counts: LoadCounts,
    writes: Sequence[SoakWrite] = (),
    write_every: int = 0,
) -> None:
    """Send ``rate`` requests per second for ``seconds``, each at its own slot in time; every
    ``write_every``-th is one of ``writes`` (none when 0)."""
    interval = 1.0 / rate
    total = int(rate * seconds)
    next_slot = 0
    start = time.monotonic()
    async with _session(concurrency) as session:

        async def client() -> None:
            nonlocal next_slot
            while True:
                slot = next_slot
                if slot >= total:
                    return
                next_slot += 1
                delay = start + slot * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -1.0:
                    counts.late += 1
                request = soak_request(slot, paths, writes, write_every)
                if isinstance(request, SoakWrite):
                    await _write(session, base_url, request, counts)
                else:
                    await _one(session, base_url + request, counts)

        await asyncio.gather(*(client() for _ in range(concurrency)))
