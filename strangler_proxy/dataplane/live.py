"""The route table a worker serves, and the poller that swaps in each newly published version.

The served table is one immutable :class:`ServedTable`; a request reads the reference once when it
starts and keeps that object to the end, so a swap never changes a request in flight. The poller
asks the store for the pointer's generation every ``poll_interval_s`` (in a thread) and compiles and
swaps only when it changed; a table that fails to compile is refused and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from strangler_proxy.dataplane.routing import CompiledTable
from strangler_proxy.routes import LEGACY, BreakerSettings, RouteTable, Upstream

__all__ = ["LiveTable", "ServedTable", "TablePoller", "TableSource", "UpstreamInfo", "bootstrap_table"]


class _Pointer(Protocol):
    @property
    def generation(self) -> int: ...


class _Found(Protocol):
    @property
    def pointer(self) -> _Pointer: ...

    @property
    def table(self) -> RouteTable: ...


class TableSource(Protocol):
    """Where the poller reads the active version: the worker's ``StoreClient`` (or the control
    plane's ``ActiveVersionReader``, which answers the same way)."""

    def poll(self, known_generation: int | None) -> _Found | None: ...


logger = logging.getLogger(__name__)

_FORCED_POLL_S = 0.5
"""The longest a poll is skipped on the word of ``may_have_changed`` (file times are coarse)."""


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
    ) -> None:
        self._reader = reader
        self._live = live
        self._compile = compile_table
        self._interval = interval_s
        self._on_applied = on_applied
        self._refused_generation: int | None = None
        self.last_error: str | None = None
        self.polls = 0

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
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self.polls += 1
        self.last_error = None
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

    async def run(self) -> None:
        """Poll every ``interval_s``; a source that can tell cheaply that nothing changed (a SQLite
        file untouched since the last look) saves the trip to a thread, at most for ``_FORCED_POLL_S``."""
        may_have_changed = getattr(self._reader, "may_have_changed", None)
        loop = asyncio.get_running_loop()
        last_poll = loop.time()
        while True:
            now = loop.time()
            if may_have_changed is None or may_have_changed() or now - last_poll >= _FORCED_POLL_S:
                last_poll = now
                await asyncio.to_thread(self.poll_once)
            await asyncio.sleep(self._interval)
