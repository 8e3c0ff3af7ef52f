"""The data plane's composition root: ``create_app(settings)`` returns a pure ASGI application.

    http on the internal port (loopback only)  -> the proxy's own endpoints: /_strangler/healthz,
                                                  /_strangler/readyz, /_strangler/metrics, /_strangler/version
    http /_strangler/healthz on the public port -> liveness (it says nothing about the routes)
    http everything else                        -> Forwarder (decide -> forward -> observe); other
                                                  /_strangler/ paths are unknown paths like any other
    http + Upgrade: websocket                   -> WebSocketForwarder (decide -> handshake -> relay bytes)
    lifespan                                    -> builds the worker's resources and background tasks,
                                                  tears them down

Per worker: one aiohttp ``ClientSession`` (keep-alive pool, no cookie jar, no decompression, no
headers of its own), a channel to the shadow process (which mirrors and compares), the live route table
and its poller, and background tasks that write stats, metric snapshots and access-log lines off the
request path. The store is reached through the DB-API driver (:class:`StoreClient`), not SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.address_guard import GuardedResolver
from strangler_proxy.dataplane.agent_client import AgentStoreClient, AgentWatcher
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.failing_requests import FailingRequests, entries
from strangler_proxy.dataplane.forward import Forwarder
from strangler_proxy.dataplane.headers import TrustedPeers, new_request_id
from strangler_proxy.dataplane.identity import IdentityResolver
from strangler_proxy.dataplane.last_table import KeptTable, load_last_table, save_last_table
from strangler_proxy.dataplane.live import LiveTable, ServedTable, TablePoller, bootstrap_table
from strangler_proxy.dataplane.metrics import (
    REFUSED_ROUTE,
    REFUSED_TARGET,
    MetricsExporter,
    snapshot_bytes,
    store_snapshot,
)
from strangler_proxy.dataplane.notify import ChangeListener
from strangler_proxy.dataplane.paths import PathRefused, normalise_path
from strangler_proxy.dataplane.read_your_writes import ArrivalWaiter, PositionCodec
from strangler_proxy.dataplane.routing import CompiledTable, compile_table
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
from strangler_proxy.dataplane.upgrade import UPGRADE
from strangler_proxy.dataplane.upstream_request import UpstreamClient
from strangler_proxy.dataplane.upstream_session import upstream_session
from strangler_proxy.dataplane.websocket.forwarder import SocketLimits, WebSocketForwarder
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging
from strangler_proxy.keyring import KeyRing
from strangler_proxy.routes import LEGACY, RouteTable
from strangler_proxy.telemetry import TracingConfig

__all__ = ["PUBLIC_HEALTH", "RESERVED_PREFIX", "DataPlane", "create_app", "create_app_from_environment"]

logger = logging.getLogger(__name__)

RESERVED_PREFIX = "/_strangler/"
PUBLIC_HEALTH = RESERVED_PREFIX + "healthz"
_ACCESS_LOG_FLUSH_S = 0.2
_PRUNE_EVERY_S = 60.0
_LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")
_LOGGED_TARGET_BYTES = 2048
"""A refused request's target is logged up to this many bytes (it may be what made it refused)."""


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


def _json(document: object) -> bytes:
    return json.dumps(document, default=str).encode()


class DataPlane:
    """One worker's ASGI application. Resources exist between lifespan startup and shutdown only."""

    def __init__(
        self,
        settings: DataPlaneSettings,
        *,
        store_factory: Callable[[str], StoreClient] = StoreClient,
        tracing: TracingConfig | None = None,
    ) -> None:
        self.settings = settings
        self._tracing = tracing or TracingConfig(enabled=False)
        self._span_pipe: SpanPipe | None = None
        self._internal_port = settings.dataplane_internal_port
        self.worker_id = f"{settings.resolved_instance_name}:{os.getpid()}"
        self._kept: KeptTable | None = None
        """The home's last applied table, served because the store was unreachable at start."""
        self._next_prune = 0.0
        self._store_factory = store_factory
        self.stats = RequestStats()
        self.unmatched = UnmatchedPaths(settings.unmatched_paths_top)
        self._next_paths_drain = 0.0
        self.failing = FailingRequests(settings.failing_requests_per_route)
        self._next_failing_drain = 0.0
        self.breakers = Breakers()
        self._exporter = MetricsExporter(settings.metrics_dir)
        self._tasks: list[asyncio.Task[None]] = []
        self._forwarder: Forwarder | None = None
        self._websockets: WebSocketForwarder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.live: LiveTable | None = None
        self._poller: TablePoller | None = None
        self._writer: StoreWriter | None = None
        self._store: StoreClient | AgentStoreClient | None = None
        self._listener: ChangeListener | AgentWatcher | None = None
        self._session: aiohttp.ClientSession | None = None
        self._shadow: ShadowClient | None = None
        self._access_log: AccessLog | None = None
        self._override_key: KeyRing | None = None
        self._snapshot_lock = threading.Lock()
        self._snapshot_taken = 0
        self._snapshot_stored = 0

    # --- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            server = scope.get("server")
            if (server is not None and server[1] == self._internal_port) or scope["path"] == PUBLIC_HEALTH:
                await self._internal(scope, send)
                return
            if self._forwarder is None:
                await self._refuse(scope, send, 503, "starting", "the data plane is not started")
                return
            try:
                scope["path"], scope["raw_path"] = normalise_path(scope.get("raw_path") or b"/")
            except PathRefused as exc:
                await self._refuse(scope, send, 400, "bad_path", str(exc))
                return
            extensions = scope.get("extensions")
            if extensions is not None and UPGRADE in extensions and self._websockets is not None:
                await self._websockets(scope, receive, send, extensions[UPGRADE])
                return
            await self._forwarder(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1011, "reason": "websockets are not proxied"})

    async def _refuse(self, scope: dict[str, Any], send: Any, status: int, reason: str, detail: str) -> None:
        client = scope.get("client")
        self.record_refusal(
            status,
            reason,
            detail,
            method=scope["method"],
            target=scope.get("raw_path") or b"",
            client=client[0] if client else "",
        )
        await _respond(send, status, {"error": reason, "detail": detail})

    def record_refusal(
        self, status: int, reason: str, detail: str, *, method: str, target: bytes | str, client: str
    ) -> None:
        """Count and log a request the proxy answered itself before routing it: ``reason`` is a short
        code (``bad_path``, ``headers_too_large``...), a metric label; ``detail`` goes to the access log
        only. Also called by the connection protocol (``protocol.py``) for what it refuses."""
        self.stats.refuse(status, reason)
        if self._access_log is not None:
            served = self.live.current.version if self.live is not None else 0
            self._access_log.record(
                new_request_id(),
                method,
                target[:_LOGGED_TARGET_BYTES],
                REFUSED_ROUTE,
                REFUSED_TARGET,
                "",
                served,
                status,
                0.0,
                client,
                f"{reason}: {detail}",
            )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("data plane worker failed to start")
                    await self._abandon_startup()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- lifecycle ----------------------------------------------------------------------------
    def _compile(self, table: RouteTable) -> CompiledTable:
        return compile_table(table, override_key=self._override_key)

    async def startup(self) -> None:
        settings = self.settings
        # Store I/O (poll, stats, heartbeats, shadow results) runs in two threads, not a pool per core:
        # each extra thread would hold its own malloc arena.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="strangler-store")
        )
        self._override_key = load_override_key(settings)
        if settings.store_agent_socket is not None:  # the host's store agent holds the connections
            self._store = AgentStoreClient(settings.store_agent_socket)
        else:
            self._store = self._store_factory(settings.resolved_store_url)
        self._writer = StoreWriter(self._store, worker=self.worker_id, pid=os.getpid())
        self.live = LiveTable(ServedTable.build(self._compile(bootstrap_table(settings.legacy_url)), None))
        self._poller = TablePoller(
            self._store,
            self.live,
            self._compile,
            interval_s=settings.poll_interval_s,
            on_applied=self._applied,
        )
        applied = await asyncio.to_thread(self._poller.poll_once)
        if not applied and not self._poller.healthy:
            self._serve_kept_table()
        if not applied:
            await asyncio.to_thread(self._applied, self.live.current)
        self._session = upstream_session(
            pool_size=settings.upstream_pool_size, resolver=GuardedResolver(settings.private_sockets)
        )
        live = self.live
        if settings.shadow_socket is not None:
            self._shadow = ShadowClient(settings.shadow_socket)
            self._shadow.start()
            await self._shadow.wait_connected(timeout=5.0)
        else:
            logger.warning("no shadow process (STRANGLER_SHADOW_SOCKET unset): shadow rules mirror nothing")
        identity = IdentityResolver(
            self._session,
            lambda: live.current.upstreams[LEGACY].base_url,
            internal_token=lambda: load_internal_token(settings),
            identity_key=load_identity_key(settings),
            cookie_name=settings.legacy_session_cookie,
        )
        positions = arrivals = None
        if settings.read_your_writes_s > 0:
            positions = PositionCodec(
                load_identity_key(settings), cookie_s=settings.read_your_writes_cookie_s
            )
            arrivals = ArrivalWaiter(
                self._session,
                internal_token=lambda: load_internal_token(settings),
                bound_s=settings.read_your_writes_s,
            )
        tracer = await self._request_tracer()
        if settings.access_log:
            self._access_log = AccessLog(settings.access_log_path)
            self._access_log.open()
        self._forwarder = Forwarder(
            upstream=UpstreamClient(
                self._session,
                max_header_bytes=settings.max_response_header_bytes,
                max_headers=settings.max_response_headers,
            ),
            max_response_header_bytes=settings.max_response_header_bytes,
            live=self.live,
            breakers=self.breakers,
            stats=self.stats,
            access_log=self._access_log,
            trusted=TrustedPeers(settings.trusted_proxies),
            shadow=self._shadow,
            identity=identity,
            debug_headers=settings.debug_headers,
            tracer=tracer,
            unmatched=self.unmatched,
            positions=positions,
            arrivals=arrivals,
            failing=self.failing,
        )
        self._websockets = WebSocketForwarder(
            live=self.live,
            breakers=self.breakers,
            stats=self.stats,
            access_log=self._access_log,
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
        loop = self._loop = asyncio.get_running_loop()
        if settings.store_agent_socket is not None:
            self._listener = AgentWatcher(settings.store_agent_socket, self._poller.wake_threadsafe)
            self._listener.start()
        elif self._store.dialect == "postgresql":
            self._listener = ChangeListener(settings.resolved_store_url, self._poller.wake_threadsafe)
            self._listener.start()
        self._tasks = [
            loop.create_task(self._poller.run(listening=self._listening), name="route-table-poller"),
            loop.create_task(self._stats_forever(), name="stats-writer"),
        ]
        if self._access_log is not None:
            self._tasks.append(loop.create_task(self._access_log_forever(), name="access-log"))
        self._store_snapshot(self._take_snapshot())
        release_startup_garbage()

    async def _request_tracer(self) -> RequestTracer | None:
        """The forwarder's tracer when tracing is on, its spans piped to this worker's own exporting
        process (started here, after the fork), else None: no span work at all."""
        if not self._tracing.enabled:
            return None
        self._span_pipe = SpanPipe(self._tracing.service_name or "strangler-dataplane")
        await self._span_pipe.start()
        return RequestTracer(
            None, self._tracing, TrustedPeers(self.settings.trusted_proxies), sink=self._span_pipe
        )

    def _serve_kept_table(self) -> None:
        """The store is unreachable at start: serve the home's last applied table, if any (never the
        bootstrap table while the fleet serves a published one), unconfirmed until a poll succeeds."""
        assert self.live is not None
        kept = load_last_table(self.settings.last_table_path)
        if kept is None:
            logger.error(
                "the store is unreachable and %s holds no applied table: serving the bootstrap table "
                "(everything to the legacy); /readyz fails until the store answers",
                self.settings.last_table_path,
            )
            return
        try:
            compiled = self._compile(kept.table)
        except Exception as exc:
            logger.error("the kept route table version %s does not compile: %s", kept.table.version, exc)
            return
        self.live.swap(ServedTable.build(compiled, kept.generation))
        self._kept = kept
        logger.warning(
            "the store is unreachable: serving version %s, applied at %s and kept in %s; /readyz fails "
            "until the store confirms the current version",
            kept.table.version,
            kept.applied_at.isoformat(),
            self.settings.last_table_path,
        )

    async def shutdown(self) -> None:
        if self._websockets is not None:
            self._websockets.close_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        await self._flush_stats(include_current=True)
        if self._access_log is not None:
            self._access_log.close()
        if self._shadow is not None:
            await self._shadow.aclose()
        if self._session is not None:
            await self._session.close()
        await self._forget_worker()
        if self._store is not None:
            self._store.close()
        if self._span_pipe is not None:
            await self._span_pipe.aclose()  # the exporting process exports what it still holds

    async def _abandon_startup(self) -> None:
        """Undo what a failed startup had done: the worker's row, the upstream pool, the store link, the
        span exporting process."""
        await self._forget_worker()
        if self._span_pipe is not None:
            await self._span_pipe.aclose()
            self._span_pipe = None
        if self._session is not None:
            await self._session.close()
        if self._store is not None:
            self._store.close()

    async def _forget_worker(self) -> None:
        """Remove this worker's row from ``dataplane_workers`` (at shutdown, or when startup failed after
        the worker had registered), so the store never lists a worker that does not serve."""
        if self._writer is None:
            return
        try:
            await asyncio.to_thread(self._writer.forget)
        except Exception as exc:
            logger.warning("could not remove worker %s from the store: %s", self.worker_id, exc)

    def _listening(self) -> bool:
        return self._listener is not None and self._listener.listening

    def _applied(self, served: ServedTable) -> None:
        """Runs in the poller's thread when a version is applied: record it in ``dataplane_workers``,
        and let the open WebSockets see the new table (on the event loop)."""
        assert self._writer is not None and self.live is not None
        if self._websockets is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._websockets.table_changed, served)
        if served.version and self._poller is not None and self._poller.polls:  # read from the store
            try:
                save_last_table(
                    self.settings.last_table_path,
                    served.compiled.table,
                    served.generation,
                    self.live.applied_at,
                )
            except OSError as exc:
                logger.warning("could not keep route table version %s in the home: %s", served.version, exc)
        try:
            self._writer.heartbeat(
                version_id=served.version or None,
                generation=served.generation,
                applied_at=self.live.applied_at,
            )
        except Exception as exc:
            logger.warning("could not record the applied version %s in the store: %s", served.version, exc)

    # --- background tasks ---------------------------------------------------------------------
    async def _stats_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stats_interval_s)
            await self._flush_stats(include_current=False)

    async def _flush_stats(self, *, include_current: bool) -> None:
        # Counts are read on the loop (consistent); files and the store are written in one thread trip.
        snapshot = self._take_snapshot()
        rows = self.stats.drain(include_current=include_current)
        shapes = self._drain_unmatched(include_current=include_current)
        failing = self._drain_failing(include_current=include_current)
        to_store = self._writer is not None and self.settings.stats_to_store
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
        self._next_paths_drain = now + self.settings.unmatched_paths_interval_s
        return self.unmatched.drain()[0]

    def _drain_failing(self, *, include_current: bool) -> list[tuple] | None:
        """The failing requests kept since the previous drain, every ``failing_requests_interval_s``
        (and at shutdown); None between drains."""
        now = time.monotonic()
        if not include_current and now < self._next_failing_drain:
            return None
        self._next_failing_drain = now + self.settings.failing_requests_interval_s
        return self.failing.drain()

    def _write_off_loop(
        self,
        snapshot: tuple[int, bytes],
        rows: list | None,
        shapes: list[tuple[str, int]] | None,
        failing: list[tuple] | None = None,
    ) -> None:
        self._store_snapshot(snapshot)
        if rows is not None:
            self._write_rows_and_heartbeat(rows)
        if shapes and self._writer is not None:
            self._writer.write_unmatched_paths(int(time.time()), shapes)
        if failing and self._writer is not None:
            self._writer.write_failing_requests(entries(failing))

    def _write_rows_and_heartbeat(self, rows: list) -> None:
        assert self._writer is not None
        self._writer.write_stats(rows)
        served = self.live.current if self.live is not None else None
        self._writer.heartbeat(
            version_id=served.version if served else None,
            generation=served.generation if served else None,
            applied_at=None,
        )
        now = time.monotonic()
        if now >= self._next_prune:
            self._next_prune = now + _PRUNE_EVERY_S
            cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.worker_prune_s)
            pruned = self._writer.prune(cutoff)
            if pruned:
                logger.info("pruned %d data-plane worker rows silent since before %s", pruned, cutoff)

    def _take_snapshot(self) -> tuple[int, bytes]:
        """The counts now, numbered so that an older snapshot never replaces a newer one on disk."""
        self._snapshot_taken += 1
        data = snapshot_bytes(
            self.stats,
            version=self.live.current.version if self.live else 0,
            breakers=self.breakers.states(),
        )
        return self._snapshot_taken, data

    def _store_snapshot(self, snapshot: tuple[int, bytes]) -> None:
        """Write a snapshot file (any thread; one writer at a time, newest wins)."""
        number, data = snapshot
        with self._snapshot_lock:
            if number <= self._snapshot_stored:
                return
            try:
                store_snapshot(self.settings.metrics_dir, data)
            except OSError as exc:
                logger.warning("metrics snapshot not written: %s", exc)
                return
            self._snapshot_stored = number

    async def _access_log_forever(self) -> None:
        assert self._access_log is not None
        while True:
            await asyncio.sleep(_ACCESS_LOG_FLUSH_S)
            try:
                self._access_log.flush()
            except OSError as exc:
                logger.warning("access log lines lost: %s", exc)

    # --- the proxy's own endpoints ------------------------------------------------------------
    async def _internal(self, scope: dict[str, Any], send: Any) -> None:
        path = scope["path"]
        name = path[len(RESERVED_PREFIX) :] if path.startswith(RESERVED_PREFIX) else ""
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, {"error": "method_not_allowed", "detail": "only GET and HEAD"})
        elif name == "healthz":
            await _respond(send, 200, {"status": "ok"})
        elif name == "readyz":
            await self._readyz(send)
        elif name == "version":
            await _respond(send, 200, self._version_document())
        elif name == "metrics":
            client = scope.get("client")
            if client is None or not str(client[0]).startswith(_LOOPBACK_PREFIXES):
                await _respond(
                    send, 403, {"error": "forbidden", "detail": "metrics are served to loopback peers only"}
                )
                return
            snapshot = self._take_snapshot()
            body = await asyncio.to_thread(self._render_metrics, snapshot)
            await _respond_bytes(send, 200, b"text/plain; version=0.0.4; charset=utf-8", body)
        else:
            await _respond(send, 404, {"error": "not_found", "detail": f"no endpoint {scope['path']!r}"})

    def _render_metrics(self, snapshot: tuple[int, bytes]) -> bytes:
        self._store_snapshot(snapshot)
        return self._exporter.render()

    async def _readyz(self, send: Any) -> None:
        """200 ``ready``; 200 ``degraded`` when the store stopped answering after it had confirmed the
        served version (the worker keeps serving it); 503 until the store has confirmed it once."""
        poller, live = self._poller, self.live
        if poller is None or live is None:
            await _respond(send, 503, {"status": "starting", "checks": {"started": "no"}})
            return
        version = live.current.version
        since = live.applied_at.isoformat(timespec="seconds")
        if poller.healthy:
            checks = {"store": "ok", "route_table": f"version {version}"}
            await _respond(send, 200, {"status": "ready", "checks": checks})
            return
        failing = poller.failing_since.isoformat(timespec="seconds") if poller.failing_since else "start"
        store = f"unreachable since {failing}: {poller.last_error}"
        if not poller.polls:
            origin = (
                f"kept in the home, applied at {self._kept.applied_at.isoformat(timespec='seconds')}"
                if self._kept is not None
                else "the bootstrap table"
            )
            checks = {"store": store, "route_table": f"version {version} ({origin}), not confirmed"}
            await _respond(send, 503, {"status": "not_ready", "checks": checks})
            return
        checks = {
            "store": store,
            "route_table": f"serving version {version} since {since}, store unreachable",
        }
        await _respond(send, 200, {"status": "degraded", "checks": checks})

    def _version_document(self) -> dict[str, object]:
        served = self.live.current if self.live is not None else None
        return {
            "worker": self.worker_id,
            "instance": self.settings.resolved_instance_name,
            "version": served.version if served else None,
            "generation": served.generation if served else None,
            "applied_at": self.live.applied_at.isoformat() if self.live else None,
            "breakers": self.breakers.states(),
            "shadow": None
            if self._shadow is None
            else {
                "connected": self._shadow.connected,
                "submitted": self._shadow.submitted,
                "dropped": dict(self._shadow.dropped),
            },
            "now": datetime.now(UTC).isoformat(),
        }


async def _respond(send: Any, status: int, document: object) -> None:
    await _respond_bytes(send, status, b"application/json", _json(document))


async def _respond_bytes(send: Any, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def create_app(settings: DataPlaneSettings, **kwargs: Any) -> DataPlane:
    """The data plane's ASGI application for ``settings``."""
    return DataPlane(settings, **kwargs)


def create_app_from_environment() -> DataPlane:
    """Factory for ``uvicorn --factory``: settings read once from the environment (in each worker)."""
    if not logging.getLogger().handlers:  # uvicorn's log_config (``__main__``) normally set them
        configure_json_logging()
    init_error_tracking("strangler-dataplane", os.environ)
    return create_app(DataPlaneSettings(), tracing=TracingConfig.from_environ(os.environ))
