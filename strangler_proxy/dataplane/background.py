"""A worker's background work, off the request path: metric snapshots, the periodic flush of counts to
the store (route stats, unmatched path shapes, failing requests, the worker's heartbeat, pruning of
silent workers) and the access log's flush.

Counts are read on the event loop (consistent); files and the store are written in one thread trip.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.failing_requests import FailingRequests, entries
from strangler_proxy.dataplane.live import LiveTable
from strangler_proxy.dataplane.metrics import snapshot_bytes, store_snapshot
from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths

__all__ = ["ACCESS_LOG_FLUSH_S", "PRUNE_EVERY_S", "Snapshots", "StatsFlusher", "flush_access_log_forever"]

logger = logging.getLogger(__name__)

ACCESS_LOG_FLUSH_S = 0.2
PRUNE_EVERY_S = 60.0


class Snapshots:
    """Numbered snapshots of the worker's counts, written to the metrics directory: an older snapshot
    never replaces a newer one on disk."""

    def __init__(
        self, metrics_dir: Path, stats: RequestStats, breakers: Breakers, version: Callable[[], int]
    ) -> None:
        self._metrics_dir = metrics_dir
        self._stats = stats
        self._breakers = breakers
        self._version = version
        self._lock = threading.Lock()
        self._taken = 0
        self._stored = 0

    def take(self) -> tuple[int, bytes]:
        """The counts now (on the event loop), numbered."""
        self._taken += 1
        data = snapshot_bytes(self._stats, version=self._version(), breakers=self._breakers.states())
        return self._taken, data

    def store(self, snapshot: tuple[int, bytes]) -> None:
        """Write a snapshot file (any thread; one writer at a time, newest wins)."""
        number, data = snapshot
        with self._lock:
            if number <= self._stored:
                return
            try:
                store_snapshot(self._metrics_dir, data)
            except OSError as exc:
                logger.warning("metrics snapshot not written: %s", exc)
                return
            self._stored = number


class StatsFlusher:
    """Every ``stats_interval_s``: a metrics snapshot, and the counts drained to the store."""

    def __init__(
        self,
        settings: DataPlaneSettings,
        *,
        stats: RequestStats,
        unmatched: UnmatchedPaths,
        failing: FailingRequests,
        snapshots: Snapshots,
        writer: StoreWriter | None,
        live: LiveTable | None,
    ) -> None:
        self._settings = settings
        self._stats = stats
        self._unmatched = unmatched
        self._failing = failing
        self._snapshots = snapshots
        self._writer = writer
        self._live = live
        self._next_prune = 0.0
        self._next_paths_drain = 0.0
        self._next_failing_drain = 0.0

    async def forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.stats_interval_s)
            await self.flush(include_current=False)

    async def flush(self, *, include_current: bool) -> None:
        snapshot = self._snapshots.take()
        rows = self._stats.drain(include_current=include_current)
        shapes = self._drain_unmatched(include_current=include_current)
        failing = self._drain_failing(include_current=include_current)
        to_store = self._writer is not None and self._settings.stats_to_store
        try:
            await asyncio.to_thread(
                self._write_off_loop,
                snapshot,
                rows if to_store else None,
                shapes if to_store else None,
                failing if to_store else None,
            )
        except Exception as exc:
            logger.warning(
                "%d route_stats rows (and %d unmatched path shapes) not written to the store: %s",
                len(rows),
                len(shapes or ()),
                exc,
            )

    def _drain_unmatched(self, *, include_current: bool) -> list[tuple[str, int]] | None:
        """The unmatched path shapes counted since the previous drain, every
        ``unmatched_paths_interval_s`` (and at shutdown); None between drains."""
        now = time.monotonic()
        if not include_current and now < self._next_paths_drain:
            return None
        self._next_paths_drain = now + self._settings.unmatched_paths_interval_s
        return self._unmatched.drain()[0]

    def _drain_failing(self, *, include_current: bool) -> list[tuple] | None:
        """The failing requests kept since the previous drain, every ``failing_requests_interval_s``
        (and at shutdown); None between drains."""
        now = time.monotonic()
        if not include_current and now < self._next_failing_drain:
            return None
        self._next_failing_drain = now + self._settings.failing_requests_interval_s
        return self._failing.drain()

    def _write_off_loop(
        self,
        snapshot: tuple[int, bytes],
        rows: list | None,
        shapes: list[tuple[str, int]] | None,
        failing: list[tuple] | None = None,
    ) -> None:
        self._snapshots.store(snapshot)
        if rows is not None:
            self._write_rows_and_heartbeat(rows)
        if shapes and self._writer is not None:
            self._writer.write_unmatched_paths(int(time.time()), shapes)
        if failing and self._writer is not None:
            self._writer.write_failing_requests(entries(failing))

    def _write_rows_and_heartbeat(self, rows: list) -> None:
        assert self._writer is not None
        self._writer.write_stats(rows)
        served = self._live.current if self._live is not None else None
        self._writer.heartbeat(
            version_id=served.version if served else None,
            generation=served.generation if served else None,
            applied_at=None,
        )
        now = time.monotonic()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.worker_prune_s)
            pruned = self._writer.prune(cutoff)
            if pruned:
                logger.info("pruned %d data-plane worker rows silent since before %s", pruned, cutoff)


async def flush_access_log_forever(access_log: AccessLog) -> None:
    """Write the access log's buffered lines every ``ACCESS_LOG_FLUSH_S``."""
    while True:
        await asyncio.sleep(ACCESS_LOG_FLUSH_S)
        try:
            access_log.flush()
        except OSError as exc:
            logger.warning("access log lines lost: %s", exc)
