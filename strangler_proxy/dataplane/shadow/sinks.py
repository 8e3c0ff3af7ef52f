"""Where comparisons go: the store (per-second counts and recent diff samples) or memory (tests).

The store sink never touches the database on the request path: :meth:`StoreShadowSink.record` only
adds to in-memory aggregates, and a background task flushes them every ``flush_interval_s`` through
``asyncio.to_thread``. Counts go to ``shadow_counts`` (one row per second, worker and route, added
to when a second is flushed twice); samples to ``shadow_samples``, keeping the most recent
``max_samples_per_route`` per route (older ones deleted). The new side's answers to the mirrors (status
and latency) go to ``route_stats`` as target ``shadow``, one row per completed second and route, so a
route in shadow mode shows the new side's latency next to the legacy's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable

from sqlalchemy import Engine, delete, insert, select, update

from strangler_proxy.dataplane.shadow.records import ShadowOutcome, ShadowSample
from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS
from strangler_proxy.store.schema import route_stats, shadow_counts, shadow_samples

__all__ = ["DEFAULT_MAX_PENDING", "DEFAULT_MAX_SAMPLES", "MemoryShadowSink", "StoreShadowSink"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SAMPLES = 20
DEFAULT_MAX_PENDING = 50_000
"""(second, route) aggregates kept while the store cannot be written; the oldest go first."""
_COLUMN = {
    ShadowOutcome.MATCH: "matches",
    ShadowOutcome.MISMATCH: "mismatches",
    ShadowOutcome.ERROR: "errors",
}


class MemoryShadowSink:
    """Keeps everything in memory; ``wait_for`` lets a test await outcomes instead of sleeping."""

    def __init__(self, *, max_samples_per_route: int = DEFAULT_MAX_SAMPLES) -> None:
        self.counts: Counter[tuple[str, ShadowOutcome]] = Counter()
        self.samples: dict[str, deque[ShadowSample]] = {}
        self.versions: list[int] = []
        self.latencies: dict[str, list[float]] = {}
        """The new side's answer times to the mirrors, per route."""
        self._max_samples = max_samples_per_route
        self._changed = asyncio.Event()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def record(
        self,
        route: str,
        version: int,
        outcome: ShadowOutcome,
        sample: ShadowSample | None,
        *,
        new_status: int | None = None,
        new_latency_s: float | None = None,
    ) -> None:
        if new_latency_s is not None:
            self.latencies.setdefault(route, []).append(new_latency_s)
        self.counts[route, outcome] += 1
        self.versions.append(version)
        if sample is not None:
            self.samples.setdefault(route, deque(maxlen=self._max_samples)).append(sample)
        self._changed.set()

    async def wait_for(self, total: int, timeout: float = 10.0) -> None:
        """Return once ``total`` outcomes were recorded; TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while self.total < total:
                self._changed.clear()
                await self._changed.wait()


class StoreShadowSink:
    """Aggregates in memory, flushed to the store by a background task off the request path."""

    def __init__(
        self,
        engine: Engine,
        worker: str,
        *,
        max_samples_per_route: int = DEFAULT_MAX_SAMPLES,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._engine = engine
        self._max_pending = max_pending
        self._worker = worker
        self._max_samples = max_samples_per_route
        self._interval = flush_interval_s
        self._clock = clock
        self._counts: dict[tuple[int, str], Counter[str]] = {}
        self._samples: dict[str, deque[ShadowSample]] = {}
        self._timings: dict[tuple[int, str], _Timing] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(
        self,
        route: str,
        version: int,
        outcome: ShadowOutcome,
        sample: ShadowSample | None,
        *,
        new_status: int | None = None,
        new_latency_s: float | None = None,
    ) -> None:
        key = (int(self._clock()), route)
        if new_status is not None and new_latency_s is not None:
            timing = self._timings.get(key)
            if timing is None:
                timing = self._timings[key] = _Timing()
            timing.add(new_status, new_latency_s * 1000.0)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = Counter()
        counts[_COLUMN[outcome]] += 1
        if sample is not None:
            self._samples.setdefault(route, deque(maxlen=self._max_samples)).append(sample)

    def start(self) -> None:
        """Start the periodic flush (call from the worker's lifespan, with the loop running)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_forever())

    async def aclose(self) -> None:
        """Stop the periodic flush and write what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush(include_current=True)
        except Exception:  # already logged by flush(); shutting down must go on
            return

    async def flush(self, *, include_current: bool = False) -> None:
        """Write the aggregates gathered so far; on failure they are kept for the next flush. Timings
        are written once their second is over (one ``route_stats`` row each), unless ``include_current``."""
        async with self._lock:
            counts, self._counts = self._counts, {}
            samples, self._samples = self._samples, {}
            now = int(self._clock())
            timings = {k: t for k, t in self._timings.items() if include_current or k[0] < now}
            for key in timings:
                del self._timings[key]
            if not counts and not samples and not timings:
                return
            try:
                await asyncio.to_thread(self._write, counts, samples, timings)
            except Exception:
                logger.exception("shadow results not written to the store; kept for the next flush")
                self._merge_back(counts, samples)
                self._timings.update(timings)
                raise

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:  # already logged by flush(); keep flushing
                continue

    def _merge_back(
        self, counts: dict[tuple[int, str], Counter[str]], samples: dict[str, deque[ShadowSample]]
    ) -> None:
        for key, counter in counts.items():
            self._counts.setdefault(key, Counter()).update(counter)
        overflow = len(self._counts) - self._max_pending
        if overflow > 0:  # the store has been away for long: keep the most recent seconds only
            for key in sorted(self._counts)[:overflow]:
                del self._counts[key]
            logger.warning(
                "store unreachable: shadow counts of %d oldest (second, route) keys dropped", overflow
            )
        for route, kept in samples.items():
            merged = deque(kept, maxlen=self._max_samples)
            merged.extend(self._samples.get(route, ()))
            self._samples[route] = merged

    def _write(
        self,
        counts: dict[tuple[int, str], Counter[str]],
        samples: dict[str, deque[ShadowSample]],
        timings: dict[tuple[int, str], _Timing] | None = None,
    ) -> None:
        with self._engine.begin() as conn:
            if timings:
                conn.execute(
                    insert(route_stats),
                    [t.row(second, self._worker, route) for (second, route), t in timings.items()],
                )
            for (second, route), counter in counts.items():
                key = (
                    (shadow_counts.c.second == second)
                    & (shadow_counts.c.worker == self._worker)
                    & (shadow_counts.c.route == route)
                )
                added = conn.execute(
                    update(shadow_counts)
                    .where(key)
                    .values({name: getattr(shadow_counts.c, name) + n for name, n in counter.items()})
                )
                if added.rowcount == 0:
                    conn.execute(
                        insert(shadow_counts).values(
                            second=second,
                            worker=self._worker,
                            route=route,
                            matches=counter["matches"],
                            mismatches=counter["mismatches"],
                            errors=counter["errors"],
                        )
                    )
            for route, kept in samples.items():
                conn.execute(insert(shadow_samples), [_sample_row(s) for s in kept])
                self._prune(conn, route)

    def _prune(self, conn, route: str) -> None:
        oldest_kept = conn.execute(
            select(shadow_samples.c.id)
            .where(shadow_samples.c.route == route)
            .order_by(shadow_samples.c.id.desc())
            .offset(self._max_samples - 1)
            .limit(1)
        ).scalar_one_or_none()
        if oldest_kept is not None:
            conn.execute(
                delete(shadow_samples).where(
                    (shadow_samples.c.route == route) & (shadow_samples.c.id < oldest_kept)
                )
            )


class _Timing:
    """One second of the new side's answers to the mirrors of one route, as a ``route_stats`` row."""

    __slots__ = ("buckets", "by_class", "requests", "sum_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.sum_ms = 0.0
        self.by_class = [0, 0, 0, 0]
        self.buckets = [0] * len(LATENCY_BUCKETS_MS)

    def add(self, status: int, latency_ms: float) -> None:
        self.requests += 1
        self.sum_ms += latency_ms
        if 200 <= status < 600:
            self.by_class[status // 100 - 2] += 1
        self.buckets[next(i for i, bound in enumerate(LATENCY_BUCKETS_MS) if latency_ms <= bound)] += 1

    def row(self, second: int, worker: str, route: str) -> dict[str, object]:
        return {
            "second": second,
            "worker": worker,
            "route": route,
            "target": "shadow",
            "requests": self.requests,
            "status_2xx": self.by_class[0],
            "status_3xx": self.by_class[1],
            "status_4xx": self.by_class[2],
            "status_5xx": self.by_class[3],
            "latency_sum_ms": self.sum_ms,
            "latency_buckets": list(self.buckets),
        }


def _sample_row(sample: ShadowSample) -> dict[str, object]:
    return {
        "at": sample.at,
        "route": sample.route,
        "version": sample.version,
        "request_id": (sample.request_id or "")[:64] or None,
        "trace_id": sample.trace_id,
        "method": sample.method[:10],
        "path": sample.path,
        "legacy_status": sample.legacy_status,
        "new_status": sample.new_status,
        "diff": sample.diff,
    }
