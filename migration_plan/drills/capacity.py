"""How much the drilled route sustains on this machine, measured at the start of a drill, so that the
drill's steady state runs at a stated fraction of it instead of a fixed rate.

The probe is closed-loop: ``concurrency`` connections each send the route's reads (the profile's, by
weight) back to back through the front door for ``seconds``; the capacity is the successful answers per
second. It is bounded (3 s by default) and reads only, so that it changes nothing on either side.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp

from migration_plan.drills.load import draw_read
from migration_plan.drills.profile import DrillProfile

__all__ = [
    "Capacity",
    "LoadRate",
    "drill_pace",
    "load_rate",
    "measure_capacity",
    "pace_figures",
    "pace_rows",
]


@dataclass(frozen=True)
class Capacity:
    rps: float
    """Successful answers per second."""
    requests: int
    errors: int
    seconds: float
    concurrency: int
    what: str = "reads"
    """What the probe sent (the route's reads; the chaos drill's stock writes, the crash drill's
    checkouts)."""

    def describe(self) -> str:
        return (
            f"{self.rps:.1f} req/s ({self.requests} {self.what} in {self.seconds:.1f} s over "
            f"{self.concurrency} connections, back to back; {self.errors} failed)"
        )


@dataclass(frozen=True)
class LoadRate:
    """The rate a drill's load runs at and where it comes from."""

    rate: float
    capacity: Capacity | None = None
    """None: the rate was given (``--rate``), not measured."""
    fraction: float | None = None

    def describe(self) -> str:
        if self.capacity is None or self.fraction is None:
            return f"{self.rate:.1f} req/s (given with --rate)"
        return f"{self.rate:.1f} req/s ({self.fraction:.0%} of the measured capacity)"


def pace_rows(pace: LoadRate | None) -> list[str]:
    """A drill report's table rows: the route's capacity measured at the start, and the load's rate."""
    capacity = pace.capacity.describe() if pace is not None and pace.capacity is not None else "not measured"
    return [
        f"| measured capacity of the route (at the start of the drill) | {capacity} |",
        f"| load rate | {pace.describe() if pace is not None else '-'} |",
    ]


def pace_figures(pace: LoadRate | None) -> str:
    """A drill's last line's figures: ``capacity_rps=<x|n/a> rate_rps=<x|n/a>`` (n/a: not measured)."""
    capacity = f"{pace.capacity.rps:.1f}" if pace is not None and pace.capacity is not None else "n/a"
    rate = f"{pace.rate:.1f}" if pace is not None else "n/a"
    return f"capacity_rps={capacity} rate_rps={rate}"


async def _probe(base_url: str, profile: DrillProfile, seconds: float, concurrency: int) -> Capacity:
    timeout = aiohttp.ClientTimeout(total=5.0)
    connector = aiohttp.TCPConnector(limit=concurrency)
    counts = {"ok": 0, "failed": 0}
    async with aiohttp.ClientSession(
        base_url=base_url.rstrip("/"), connector=connector, timeout=timeout
    ) as session:
        began = time.monotonic()
        deadline = began + seconds

        async def client(rng: random.Random) -> None:
            while time.monotonic() < deadline:
                try:
                    async with session.get(draw_read(profile, profile.reads, rng)) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                counts["ok" if ok else "failed"] += 1

        await asyncio.gather(*(client(random.Random(n)) for n in range(concurrency)))
        elapsed = time.monotonic() - began
    requests = counts["ok"] + counts["failed"]
    return Capacity(counts["ok"] / elapsed, requests, counts["failed"], elapsed, concurrency)


def measure_capacity(
    base_url: str, profile: DrillProfile, *, seconds: float = 3.0, concurrency: int = 8
) -> Capacity:
    """Closed-loop reads of the drilled route for ``seconds`` (see the module)."""
    if seconds <= 0 or concurrency < 1:
        raise ValueError("the capacity probe needs seconds > 0 and at least one connection")
    return asyncio.run(_probe(base_url, profile, seconds, concurrency))


def load_rate(capacity: Capacity, fraction: float, *, floor: float = 1.0) -> LoadRate:
    """The load's rate: ``fraction`` of the measured capacity (never below ``floor`` req/s)."""
    if not 0 < fraction <= 1:
        raise ValueError("the fraction of the capacity must be more than 0 and at most 1")
    return LoadRate(max(floor, capacity.rps * fraction), capacity, fraction)


def drill_pace(
    front_url: str,
    profile: DrillProfile,
    *,
    rate: float | None,
    fraction: float,
    probe_s: float = 3.0,
    concurrency: int = 8,
) -> LoadRate:
    """``rate`` when given; else ``fraction`` of the capacity measured now, with the load's connections."""
    if rate is not None:
        return LoadRate(rate)
    capacity = measure_capacity(front_url, profile, seconds=probe_s, concurrency=concurrency)
    return load_rate(capacity, fraction)
