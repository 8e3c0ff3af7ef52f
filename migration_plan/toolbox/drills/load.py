"""A small, bounded load generator for drills: the drilled route's reads, the monolith's own traffic and
the profile's write probe, at a fixed rate.

The mix (:class:`~migration_plan.toolbox.drills.profile.DrillProfile`): ``page_share`` of the requests are the
monolith's own reads (``legacy_reads``: the traffic the guards compare against; none when the profile has
none), ``write_share`` are the write probe's POSTs (none without a probe), the rest the drilled route's
reads by their weights. Requests are sent open-loop (one every ``1/rate`` seconds, at most
``concurrency`` in flight, the rest counted as not sent) from an asyncio loop in a background thread, so
a slow side shows up as latency instead of as a lower rate. Every request becomes one :class:`Sample`.
Each acknowledged write (2xx) is counted per probe id so that the drill can reconcile them against the
monolith after the drain. A drill needs to know each write's outcome and the side that answered each
request, which a locust run does not report, hence this generator.
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from migration_plan.toolbox.drills.profile import DrillProfile, Read

__all__ = [
    "PAGE_SHARE",
    "LoadGenerator",
    "LoadSettings",
    "Sample",
    "WriteLedger",
    "draw_probe_read",
    "draw_read",
]

TARGET_HEADER = "x-strangler-target"
PAGE_SHARE = 0.3
"""Share of a drill's requests that are the monolith's own reads (when the profile names some)."""


@dataclass(frozen=True)
class LoadSettings:
    base_url: str
    profile: DrillProfile
    rate: float = 20.0
    """Requests per second, all kinds together."""
    concurrency: int = 8
    write_share: float = 0.025
    """Share of the requests that are the probe's writes (0, or a profile without a probe: no writes)."""
    page_share: float = PAGE_SHARE
    """Share of the requests that are the monolith's own reads (the legacy's own traffic)."""
    timeout_s: float = 5.0
    seed: int = 7

    @property
    def write_ids(self) -> tuple[int, ...]:
        """The ids the writes go to (none without a write probe)."""
        return self.profile.write.ids if self.profile.write is not None else ()


@dataclass(frozen=True)
class Sample:
    """One request as the client saw it."""

    started: float
    """Wall-clock time (epoch seconds) the request was sent."""
    kind: str
    """read (the drilled route) | page (the monolith's own traffic) | write (the write probe)"""
    status: int
    """HTTP status, 0 when no answer came back."""
    latency_ms: float
    target: str
    """legacy | new, from the proxy's debug header; unknown when the proxy does not send it."""
    cause: str | None = None
    """Why the request failed (None when it did not)."""

    @property
    def failed(self) -> bool:
        return self.cause is not None


@dataclass
class WriteLedger:
    """Writes per probe id: acknowledged (2xx), refused (a clear error) and unknown outcome."""

    acknowledged: Counter[int] = field(default_factory=Counter)
    unknown: Counter[int] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)


class LoadGenerator:
    """Start with :meth:`start`, stop with :meth:`stop` (which drains in-flight requests)."""

    def __init__(self, settings: LoadSettings) -> None:
        self.settings = settings
        self.samples: list[Sample] = []
        self.ledger = WriteLedger()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.skipped = 0
        """Requests not sent because ``concurrency`` requests were already in flight."""

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the load generator was already started")
        self._thread = threading.Thread(target=self._run, name="drill-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending and wait for every request in flight (the drain)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_s + 10)
        if self._error is not None:
            raise RuntimeError(f"the load generator failed: {self._error!r}") from self._error

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by stop()
            self._error = exc

    async def _main(self) -> None:
        settings = self.settings
        rng = random.Random(settings.seed)
        connector = aiohttp.TCPConnector(limit=settings.concurrency)
        timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        write = settings.profile.write
        auth = {}
        if write is not None and write.auth is not None:
            user, password = write.auth
            auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(
            base_url=settings.base_url.rstrip("/"), connector=connector, timeout=timeout
        ) as session:
            began = time.monotonic()
            sent = 0
            while not self._stop.is_set():
                due = began + sent / settings.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(min(delay, 0.05))
                    continue
                sent += 1
                if len(tasks) >= settings.concurrency:
                    # Every connection is busy: skip this one rather than queue it (counted apart).
                    self.skipped += 1
                    continue
                task = asyncio.create_task(self._one(session, rng, auth))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)

    async def _one(
        self,
        session: aiohttp.ClientSession,
        rng: random.Random,
        auth: dict[str, str],
    ) -> None:
        settings = self.settings
        profile = settings.profile
        key = None
        draw = rng.random()
        write_share = settings.write_share if profile.write is not None else 0.0
        page_share = settings.page_share if profile.legacy_reads else 0.0
        if draw < write_share:
            kind, key = "write", rng.choice(settings.write_ids)
        elif draw < write_share + page_share:
            kind = "page"
        else:
            kind = "read"
        started, clock = time.time(), time.perf_counter()
        status, target, cause = 0, "unknown", None
        try:
            if kind == "write":
                assert profile.write is not None and key is not None
                path = profile.write.write_path(key)
                response = await session.post(path, json=dict(profile.write.body), headers=auth)
            else:
                reads = profile.legacy_reads if kind == "page" else profile.reads
                response = await session.get(draw_read(profile, reads, rng))
            async with response:
                await response.read()
                status = response.status
                target = response.headers.get(TARGET_HEADER, "unknown")
            if not 200 <= status < 300:
                cause = f"http {status}"
        except TimeoutError:
            cause = "client timeout"
        except aiohttp.ClientConnectorError:
            cause = "connection refused"
        except aiohttp.ServerDisconnectedError:
            cause = "server disconnected"
        except aiohttp.ClientError as exc:
            cause = f"client error {type(exc).__name__}"
        latency = (time.perf_counter() - clock) * 1000
        if key is not None:
            self._account(key, status, cause)
        with self._lock:
            self.samples.append(Sample(started, kind, status, latency, target, cause))

    def _account(self, key: int, status: int, cause: str | None) -> None:
        with self._lock:
            if cause is None:
                self.ledger.acknowledged[key] += 1
            elif status == 0 or status >= 500:
                # No answer, or a gateway error: the write may or may not have been applied.
                self.ledger.unknown[key] += 1
            else:
                self.ledger.refused[key] += 1


def draw_read(profile: DrillProfile, reads: tuple[Read, ...], rng: random.Random) -> str:
    """One of ``reads`` by weight, its ``{id}`` one of the profile's ids."""
    read = rng.choices(reads, weights=[read.weight for read in reads])[0]
    return profile.path(read, rng.choice(profile.ids))


def draw_probe_read(profile: DrillProfile, page_share: float, rng: random.Random) -> str:
    """A read of the drill's mix without its writes: one of the monolith's own reads ``page_share`` of
    the time (when the profile has some), else one of the drilled route's."""
    if profile.legacy_reads and rng.random() < page_share:
        return draw_read(profile, profile.legacy_reads, rng)
    return draw_read(profile, profile.reads, rng)
