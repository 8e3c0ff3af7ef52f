"""What one worker builds at lifespan start-up and tears down at shutdown: :func:`start_worker`
returns a :class:`WorkerResources` whose every part exists (nothing optional is left to check on the
request path but the shadow client, the access log and the change listener, which settings turn off).

Order at start-up: the store (the host's store agent, or the store directly), the route table (polled
once; the home's last applied table when the store is unreachable), the upstream pool, the shadow
channel, identity, read-your-writes, tracing, the access log, the forwarders, the change listener and
the background tasks. A start-up that fails after the worker registered removes its row again and
closes the pool and the store link.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp

from strangler_proxy.credentials import auth_schemes
from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.address_guard import GuardedResolver
from strangler_proxy.dataplane.agent_client import AgentStoreClient, AgentWatcher
from strangler_proxy.dataplane.background import Snapshots, StatsFlusher, flush_access_log_forever
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.failing_requests import FailingRequests
from strangler_proxy.dataplane.first_table import TableApplied, first_table
from strangler_proxy.dataplane.forward import Forwarder
from strangler_proxy.dataplane.headers import TrustedPeers
from strangler_proxy.dataplane.identity_resolver import IdentityResolver
from strangler_proxy.dataplane.last_table import KeptTable
from strangler_proxy.dataplane.live import LiveTable, TablePoller
from strangler_proxy.dataplane.notify import ChangeListener
from strangler_proxy.dataplane.read_your_writes import ArrivalWaiter, PositionCodec
from strangler_proxy.dataplane.settings import (
    DataPlaneSettings,
    load_identity_key,
    load_internal_token,
    load_override_key,
)
from strangler_proxy.dataplane.shadow.channel import ShadowClient
from strangler_proxy.dataplane.span_export import SpanPipe
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.store_client import StoreClient
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.dataplane.tracing import RequestTracer
from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths
from strangler_proxy.dataplane.upstream_request import UpstreamClient
from strangler_proxy.dataplane.upstream_session import upstream_session
from strangler_proxy.dataplane.websocket.forwarder import SocketLimits, WebSocketForwarder
from strangler_proxy.routes import LEGACY
from strangler_proxy.telemetry import TracingConfig

__all__ = ["Counters", "WorkerResources", "release_startup_garbage", "start_worker"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Counters:
    """What a worker counts from its construction on (its endpoints read them before start-up too)."""

    stats: RequestStats
    unmatched: UnmatchedPaths
    failing: FailingRequests
    breakers: Breakers
    snapshots: Snapshots


@dataclass(slots=True)
class WorkerResources:
    """One started worker's parts."""

    store: StoreClient | AgentStoreClient
    writer: StoreWriter
    live: LiveTable
    poller: TablePoller
    kept: KeptTable | None
    """The home's last applied table, served because the store was unreachable at start."""
    session: aiohttp.ClientSession
    shadow: ShadowClient | None
    access_log: AccessLog | None
    forwarder: Forwarder
    websockets: WebSocketForwarder
    listener: ChangeListener | AgentWatcher | None
    span_pipe: SpanPipe | None
    flusher: StatsFlusher
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        """Stop the background work, flush what was counted, close every connection."""
        self.websockets.close_all()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
        await self.flusher.flush(include_current=True)
        if self.access_log is not None:
            self.access_log.close()
        if self.shadow is not None:
            await self.shadow.aclose()
        await self.session.close()
        await forget_worker(self.writer)
        self.store.close()
        if self.span_pipe is not None:
            await self.span_pipe.aclose()  # the exporting process exports what it still holds


def release_startup_garbage() -> None:
    """Collect import- and startup-time garbage, keep the survivors out of later collections and
    hand freed heap pages back to the system, so a worker starts from its smallest footprint."""
    gc.collect()
    gc.freeze()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


async def forget_worker(writer: StoreWriter) -> None:
    """Remove this worker's row from ``dataplane_workers`` (at shutdown, or when startup failed after
    the worker had registered), so the store never lists a worker that does not serve."""
    try:
        await asyncio.to_thread(writer.forget)
    except Exception as exc:
        logger.warning("could not remove worker %s from the store: %s", writer.worker, exc)


async def start_worker(
    settings: DataPlaneSettings,
    counters: Counters,
    *,
    worker_id: str,
    store_factory: Callable[[str], StoreClient],
    tracing: TracingConfig,
) -> WorkerResources:
    """Build and start one worker's parts; on failure, undo what was done and raise."""
    # Store I/O (poll, stats, heartbeats, shadow results) runs in two threads, not a pool per core:
    # each extra thread would hold its own malloc arena.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=2, thread_name_prefix="strangler-store"))
    override_key = load_override_key(settings)
    store: StoreClient | AgentStoreClient
    if settings.store_agent_socket is not None:  # the host's store agent holds the connections
        store = AgentStoreClient(settings.store_agent_socket)
    else:
        store = store_factory(settings.resolved_store_url)
    writer = StoreWriter(store, worker=worker_id, pid=os.getpid())
    session: aiohttp.ClientSession | None = None
    try:
        live, poller, applied, kept = await first_table(settings, store, writer, override_key)
        session = upstream_session(
            pool_size=settings.upstream_pool_size, resolver=GuardedResolver(settings.private_sockets)
        )
        return await _start_serving(
            settings, counters, store, writer, live, poller, applied, kept, session, tracing
        )
    except Exception:
        await forget_worker(writer)
        if session is not None:
            await session.close()
        store.close()
        raise


async def _start_serving(
    settings: DataPlaneSettings,
    counters: Counters,
    store: StoreClient | AgentStoreClient,
    writer: StoreWriter,
    live: LiveTable,
    poller: TablePoller,
    applied: TableApplied,
    kept: KeptTable | None,
    session: aiohttp.ClientSession,
    tracing: TracingConfig,
) -> WorkerResources:
    shadow = None
    if settings.shadow_socket is not None:
        shadow = ShadowClient(settings.shadow_socket)
        shadow.start()
        await shadow.wait_connected(timeout=5.0)
    else:
        logger.warning("no shadow process (STRANGLER_SHADOW_SOCKET unset): shadow rules mirror nothing")
    identity = IdentityResolver(
        session,
        lambda: live.current.upstreams[LEGACY].base_url,
        internal_token=lambda: load_internal_token(settings),
        identity_key=load_identity_key(settings),
        cookie_name=settings.legacy_session_cookie,
        auth_schemes=auth_schemes(settings.identity_auth_schemes),
    )
    tracer, span_pipe = _request_tracer(settings, tracing)
    access_log = None
    if settings.access_log:
        access_log = AccessLog(settings.access_log_path)
        access_log.open()
    forwarder = _forwarder(settings, counters, live, session, shadow, identity, tracer, access_log)
    websockets = _websocket_forwarder(settings, counters, live, identity, access_log)
    loop = applied.loop = asyncio.get_running_loop()
    applied.websockets = websockets
    listener = _change_listener(settings, store, poller)
    flusher = StatsFlusher(
        settings,
        stats=counters.stats,
        unmatched=counters.unmatched,
        failing=counters.failing,
        snapshots=counters.snapshots,
        writer=writer,
        live=live,
    )
    resources = WorkerResources(
        store=store,
        writer=writer,
        live=live,
        poller=poller,
        kept=kept,
        session=session,
        shadow=shadow,
        access_log=access_log,
        forwarder=forwarder,
        websockets=websockets,
        listener=listener,
        span_pipe=span_pipe,
        flusher=flusher,
    )
    if span_pipe is not None:  # last, so a failed start leaves no exporting process behind
        await span_pipe.start()
    resources.tasks = [
        loop.create_task(
            poller.run(listening=lambda: listener is not None and listener.listening),
            name="route-table-poller",
        ),
        loop.create_task(flusher.forever(), name="stats-writer"),
    ]
    if access_log is not None:
        resources.tasks.append(loop.create_task(flush_access_log_forever(access_log), name="access-log"))
    counters.snapshots.store(counters.snapshots.take())
    release_startup_garbage()
    return resources


def _forwarder(
    settings: DataPlaneSettings,
    counters: Counters,
    live: LiveTable,
    session: aiohttp.ClientSession,
    shadow: ShadowClient | None,
    identity: IdentityResolver,
    tracer: RequestTracer | None,
    access_log: AccessLog | None,
) -> Forwarder:
    positions = arrivals = None
    if settings.read_your_writes_s > 0:
        positions = PositionCodec(load_identity_key(settings), cookie_s=settings.read_your_writes_cookie_s)
        arrivals = ArrivalWaiter(
            session,
            internal_token=lambda: load_internal_token(settings),
            bound_s=settings.read_your_writes_s,
        )
    return Forwarder(
        upstream=UpstreamClient(
            session,
            max_header_bytes=settings.max_response_header_bytes,
            max_headers=settings.max_response_headers,
        ),
        max_response_header_bytes=settings.max_response_header_bytes,
        live=live,
        breakers=counters.breakers,
        stats=counters.stats,
        access_log=access_log,
        trusted=TrustedPeers(settings.trusted_proxies),
        shadow=shadow,
        identity=identity,
        debug_headers=settings.debug_headers,
        tracer=tracer,
        unmatched=counters.unmatched,
        positions=positions,
        arrivals=arrivals,
        failing=counters.failing,
    )


def _request_tracer(
    settings: DataPlaneSettings, tracing: TracingConfig
) -> tuple[RequestTracer | None, SpanPipe | None]:
    """The forwarder's tracer when tracing is on, its spans piped to this worker's own exporting process
    (started by the caller, after the fork), else None: no span work at all."""
    if not tracing.enabled:
        return None, None
    pipe = SpanPipe(tracing.service_name or "strangler-dataplane")
    return RequestTracer(None, tracing, TrustedPeers(settings.trusted_proxies), sink=pipe), pipe


def _change_listener(
    settings: DataPlaneSettings, store: StoreClient | AgentStoreClient, poller: TablePoller
) -> ChangeListener | AgentWatcher | None:
    """What wakes the poller when a version is published: the store agent's watch, PostgreSQL's
    LISTEN, or nothing (SQLite: the poller's interval)."""
    listener: ChangeListener | AgentWatcher
    if settings.store_agent_socket is not None:
        listener = AgentWatcher(settings.store_agent_socket, poller.wake_threadsafe)
    elif store.dialect == "postgresql":
        listener = ChangeListener(settings.resolved_store_url, poller.wake_threadsafe)
    else:
        return None
    listener.start()
    return listener


def _websocket_forwarder(
    settings: DataPlaneSettings,
    counters: Counters,
    live: LiveTable,
    identity: IdentityResolver,
    access_log: AccessLog | None,
) -> WebSocketForwarder:
    return WebSocketForwarder(
        live=live,
        breakers=counters.breakers,
        stats=counters.stats,
        access_log=access_log,
        trusted=TrustedPeers(settings.trusted_proxies),
        identity=identity,
        limits=SocketLimits(
            idle_timeout_s=settings.websocket_idle_timeout_s,
            max_per_worker=settings.websocket_max_per_worker,
            max_per_route=settings.websocket_max_per_route,
            rollback_grace_s=settings.websocket_rollback_grace_s,
            max_response_header_bytes=settings.max_response_header_bytes,
        ),
    )
