"""The route table a worker serves, and the poller that swaps in each newly published version.

The served table is one immutable :class:`ServedTable`; a request reads the reference once when it
starts and keeps that object to the end, so a swap never changes a request in flight. The poller
asks the store for the pointer's generation every ``poll_interval_s`` (in a thread) and compiles and
swaps only when it changed; a table that fails to compile is refused and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from strangler_proxy.dataplane.routing import CompiledTable
from strangler_proxy.routes import LEGACY, BreakerSettings, RouteTable, Upstream

__all__ = [
    "FALLBACK_POLL_S",
    "LiveTable",
    "ServedTable",
    "TablePoller",
    "TableSource",
    "UpstreamInfo",
    "bootstrap_table",
]


class _Pointer(Protocol):
    @property
    def generation(self) -> int: ...


class _Found(Protocol):
    @property
    def pointer(self) -> _Pointer: ...

    @property
    def table(self) -> RouteTable: ...


class TableSource(Protocol):
    """Where the poller reads the active version: the worker's ``StoreClient`` (tests give it fakes)."""

    def poll(self, known_generation: int | None) -> _Found | None: ...


logger = logging.getLogger(__name__)

FALLBACK_POLL_S = 0.5
"""The longest a poll is skipped on the word of ``may_have_changed`` (file times are coarse) or while
notifications arrive."""


def bootstrap_table(legacy_url: str) -> RouteTable:
    """What a worker serves before anything was published: every request to the legacy."""
    return RouteTable(version=0, upstreams={LEGACY: Upstream(name=LEGACY, url=legacy_url)})


@dataclass(frozen=True, slots=True)
class UpstreamInfo:
    name: str
    base_url: str
    """``http://host:port`` without a trailing slash."""
    origin: bytes
    breaker: BreakerSettings
    host: str
    """``host:port``, the Host header sent when the client gave none."""


@dataclass(frozen=True, slots=True)
class ServedTable:
    compiled: CompiledTable
    version: int
    generation: int | None
    upstreams: dict[str, UpstreamInfo]

    @classmethod
    def build(cls, compiled: CompiledTable, generation: int | None) -> ServedTable:
        upstreams = {}
        for name, upstream in compiled.table.upstreams.items():
            base = upstream.url.rstrip("/")
            host = base.split("://", 1)[1]
            upstreams[name] = UpstreamInfo(name, base, base.encode(), upstream.breaker, host)
        return cls(compiled, compiled.version, generation, upstreams)

    def upstream_url(self, name: str) -> str | None:
        info = self.upstreams.get(name)
        return None if info is None else info.base_url


class LiveTable:
    """Holds the current :class:`ServedTable`; ``current`` is replaced, never mutated."""

    def __init__(self, served: ServedTable) -> None:
        self.current = served
        self.applied_at = datetime.now(UTC)

    def swap(self, served: ServedTable) -> None:
        self.current = served
        self.applied_at = datetime.now(UTC)


class TablePoller:
    """Polls the store and swaps :class:`LiveTable` when a new generation appears."""

    def __init__(
        self,
        reader: TableSource,
        live: LiveTable,
        compile_table: Callable[[RouteTable], CompiledTable],
        *,
        interval_s: float,
        on_applied: Callable[[ServedTable], None] = lambda served: None,
        fallback_s: float = FALLBACK_POLL_S,
    ) -> None:
        self._reader = reader
        self._live = live
        self._compile = compile_table
        self._interval = interval_s
        self._on_applied = on_applied
        self._fallback_s = fallback_s
        self._refused_generation: int | None = None
        self.last_error: str | None = None
        self.failing_since: datetime | None = None
        """When the store stopped answering (None while it answers)."""
        self.polls = 0
        """Successful polls: from the first one on, the served table is the store's current one."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    def _known_generation(self) -> int | None:
        return self._live.current.generation

    def poll_once(self) -> bool:
        """One synchronous poll; True when a new table was applied."""
        try:
            found = self._reader.poll(self._known_generation())
        except Exception as exc:
            if self.last_error is None:
                logger.warning(
                    "route table poll failed (still serving version %s): %s", self._live.current.version, exc
                )
                self.failing_since = datetime.now(UTC)
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self.polls += 1
        if self.last_error is not None:
            logger.info("the store answers again (serving version %s)", self._live.current.version)
        self.last_error = None
        self.failing_since = None
        if found is None or found.pointer.generation == self._refused_generation:
            return False
        try:
            compiled = self._compile(found.table)
        except Exception as exc:
            self._refused_generation = found.pointer.generation
            logger.error(
                "route table version %s refused, still serving version %s: %s",
                found.table.version,
                self._live.current.version,
                exc,
            )
            return False
        served = ServedTable.build(compiled, found.pointer.generation)
        self._live.swap(served)
        logger.info("serving route table version %s (generation %s)", served.version, served.generation)
        self._on_applied(served)
        return True

    def wake_threadsafe(self) -> None:
        """Poll now (called from another thread, e.g. on a PostgreSQL notification)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def run(self, *, listening: Callable[[], bool] = lambda: False) -> None:
        """Poll every ``interval_s``, or at once when woken. A source that can tell cheaply that nothing
        changed (a SQLite file untouched since the last look) saves the trip to a thread, at most for
        ``fallback_s``; while ``listening()`` (notifications arrive), the poll is only a fallback,
        every ``fallback_s``."""
        self._loop = loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        may_have_changed = getattr(self._reader, "may_have_changed", None)
        last_poll = loop.time()
        while True:
            now = loop.time()
            woken = wake.is_set()
            wake.clear()
            due = now - last_poll >= self._fallback_s
            if woken or due or (not listening() and (may_have_changed is None or may_have_changed())):
                last_poll = now
                await asyncio.to_thread(self.poll_once)
            if not wake.is_set():
                with contextlib.suppress(TimeoutError):  # the interval passed without a wake-up
                    await asyncio.wait_for(wake.wait(), self._interval)
