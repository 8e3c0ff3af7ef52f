"""How much the drilled route sustains on this machine, measured at the start of a drill, so that the
drill's steady state runs at a stated fraction of it instead of a fixed rate.

The probe is closed-loop: ``concurrency`` connections each send the drill's reads back to back through
the front door for ``seconds``; the capacity is the successful answers per second. The reads come in the
drill load's own proportions (the drilled route's reads, and ``page_share`` of the monolith's own reads
when the profile names some): a page can cost the stack several times a JSON read, so a capacity of the
route's reads alone would put the drill's mixed load above what the machine sustains, and every guard on
the pages' routes would see it. It is bounded (3 s by default) and reads only, so that it changes nothing
on either side.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp

from migration_plan.toolbox.drills.load import PAGE_SHARE, draw_probe_read
from migration_plan.toolbox.drills.profile import DrillProfile

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
    page_share: float = 0.0
    """Share of the probe's reads that were the monolith's own (0: the drilled route's reads only)."""
    what: str = ""
    """What the probe sent, when not reads (the chaos drill's stock writes, the crash drill's checkouts)."""

    def describe(self) -> str:
        if self.what:
            sent = self.what
        elif self.page_share:
            sent = f"requests of the drill's reads, {self.page_share:.0%} of them the monolith's own"
        else:
            sent = "requests of the route's reads"
        return (
            f"{self.rps:.1f} req/s ({self.requests} {sent} in {self.seconds:.1f} s over "
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


def pace_rows(pace: LoadRate | None) -> list[tuple[str, str]]:
    """A drill report's figures: the route's capacity measured at the start, and the load's rate."""
    capacity = pace.capacity.describe() if pace is not None and pace.capacity is not None else "not measured"
    return [
        ("measured capacity of the route (at the start of the drill)", capacity),
        ("load rate", pace.describe() if pace is not None else "-"),
    ]


def pace_figures(pace: LoadRate | None) -> str:
    """A drill's last line's figures: ``capacity_rps=<x|n/a> rate_rps=<x|n/a>`` (n/a: not measured)."""
    capacity = f"{pace.capacity.rps:.1f}" if pace is not None and pace.capacity is not None else "n/a"
    rate = f"{pace.rate:.1f}" if pace is not None else "n/a"
    return f"capacity_rps={capacity} rate_rps={rate}"


async def _probe(
    base_url: str, profile: DrillProfile, seconds: float, concurrency: int, page_share: float
) -> Capacity:
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
                    async with session.get(draw_probe_read(profile, page_share, rng)) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                counts["ok" if ok else "failed"] += 1

        await asyncio.gather(*(client(random.Random(n)) for n in range(concurrency)))
        elapsed = time.monotonic() - began
    requests = counts["ok"] + counts["failed"]
    share = page_share if profile.legacy_reads else 0.0
    return Capacity(counts["ok"] / elapsed, requests, counts["failed"], elapsed, concurrency, share)


def measure_capacity(
    base_url: str,
    profile: DrillProfile,
    *,
    seconds: float = 3.0,
    concurrency: int = 8,
    page_share: float = PAGE_SHARE,
) -> Capacity:
    """Closed-loop reads of the drill's mix for ``seconds`` (see the module)."""
    if seconds <= 0 or concurrency < 1:
        raise ValueError("the capacity probe needs seconds > 0 and at least one connection")
    if not 0 <= page_share <= 1:
        raise ValueError("the share of the monolith's own reads must be between 0 and 1")
    return asyncio.run(_probe(base_url, profile, seconds, concurrency, page_share))


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
    page_share: float = PAGE_SHARE,
) -> LoadRate:
    """``rate`` when given; else ``fraction`` of the capacity measured now, with the load's connections
    and its mix of reads."""
    if rate is not None:
        return LoadRate(rate)
    capacity = measure_capacity(
        front_url, profile, seconds=probe_s, concurrency=concurrency, page_share=page_share
    )
    return load_rate(capacity, fraction)
