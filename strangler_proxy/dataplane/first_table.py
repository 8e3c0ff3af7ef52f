"""The route table a worker serves first, and what follows each version it applies.

At start the store is polled once; when it is unreachable the home's last applied table is served
(unconfirmed: ``/readyz`` fails until a poll succeeds), else the bootstrap table (everything to the
legacy). Each applied version is kept in the home, recorded in ``dataplane_workers`` and shown to the
open WebSockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from strangler_proxy.dataplane.agent_client import AgentStoreClient
from strangler_proxy.dataplane.last_table import KeptTable, load_last_table, save_last_table
from strangler_proxy.dataplane.live import LiveTable, ServedTable, TablePoller, bootstrap_table
from strangler_proxy.dataplane.routing import CompiledTable, compile_table
from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.dataplane.store_client import StoreClient
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.dataplane.websocket.forwarder import WebSocketForwarder
from strangler_proxy.keyring import KeyRing
from strangler_proxy.routes import RouteTable

__all__ = ["TableApplied", "first_table"]

logger = logging.getLogger(__name__)


class TableApplied:
    """Runs in the poller's thread when a version is applied: keeps it in the home, records it in
    ``dataplane_workers``, and lets the open WebSockets see the new table (on the event loop)."""

    def __init__(self, settings: DataPlaneSettings, writer: StoreWriter, live: LiveTable) -> None:
        self._settings = settings
        self._writer = writer
        self._live = live
        self.poller: TablePoller | None = None
        self.websockets: WebSocketForwarder | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, served: ServedTable) -> None:
        if self.websockets is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.websockets.table_changed, served)
        if served.version and self.poller is not None and self.poller.polls:  # read from the store
            try:
                save_last_table(
                    self._settings.last_table_path,
                    served.compiled.table,
                    served.generation,
                    self._live.applied_at,
                )
            except OSError as exc:
                logger.warning("could not keep route table version %s in the home: %s", served.version, exc)
        try:
            self._writer.heartbeat(
                version_id=served.version or None,
                generation=served.generation,
                applied_at=self._live.applied_at,
            )
        except Exception as exc:
            logger.warning("could not record the applied version %s in the store: %s", served.version, exc)


async def first_table(
    settings: DataPlaneSettings,
    store: StoreClient | AgentStoreClient,
    writer: StoreWriter,
    override_key: KeyRing | None,
) -> tuple[LiveTable, TablePoller, TableApplied, KeptTable | None]:
    """The route table to serve first: the store's (polled once), else the home's last applied one,
    else the bootstrap table (everything to the legacy)."""

    def compile_(table: RouteTable) -> CompiledTable:
        return compile_table(table, override_key=override_key)

    live = LiveTable(ServedTable.build(compile_(bootstrap_table(settings.legacy_url)), None))
    applied = TableApplied(settings, writer, live)
    poller = TablePoller(store, live, compile_, interval_s=settings.poll_interval_s, on_applied=applied)
    applied.poller = poller
    done = await asyncio.to_thread(poller.poll_once)
    kept = None
    if not done and not poller.healthy:
        kept = _serve_kept_table(settings, live, compile_)
    if not done:
        await asyncio.to_thread(applied, live.current)
    return live, poller, applied, kept


def _serve_kept_table(
    settings: DataPlaneSettings, live: LiveTable, compile_: Callable[[RouteTable], CompiledTable]
) -> KeptTable | None:
    """The store is unreachable at start: serve the home's last applied table, if any (never the
    bootstrap table while the fleet serves a published one), unconfirmed until a poll succeeds."""
    kept = load_last_table(settings.last_table_path)
    if kept is None:
        logger.error(
            "the store is unreachable and %s holds no applied table: serving the bootstrap table "
            "(everything to the legacy); /readyz fails until the store answers",
            settings.last_table_path,
        )
        return None
    try:
        compiled = compile_(kept.table)
    except Exception as exc:
        logger.error("the kept route table version %s does not compile: %s", kept.table.version, exc)
        return None
    live.swap(ServedTable.build(compiled, kept.generation))
    logger.warning(
        "the store is unreachable: serving version %s, applied at %s and kept in %s; /readyz fails "
        "until the store confirms the current version",
        kept.table.version,
        kept.applied_at.isoformat(),
        settings.last_table_path,
    )
    return kept
