"""The data plane's composition root: ``create_app(settings)`` returns a pure ASGI application.

    http on the internal port (loopback only)  -> the proxy's own endpoints (``internal_endpoints``):
                                                  /_strangler/healthz, /readyz, /metrics, /version
    http /_strangler/healthz on the public port -> liveness (it says nothing about the routes)
    http everything else                        -> Forwarder (decide -> forward -> observe); other
                                                  /_strangler/ paths are unknown paths like any other
    http + Upgrade: websocket                   -> WebSocketForwarder (decide -> handshake -> relay bytes)
    lifespan                                    -> builds the worker's resources (``resources``) and
                                                  background tasks (``background``), tears them down

Per worker: one aiohttp ``ClientSession`` (keep-alive pool, no cookie jar, no decompression, no
headers of its own), a channel to the shadow process (which mirrors and compares), the live route table
and its poller, and background tasks that write stats, metric snapshots and access-log lines off the
request path. The store is reached through the DB-API driver (:class:`StoreClient`), not SQLAlchemy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from strangler_proxy.dataplane.answers import respond_json
from strangler_proxy.dataplane.background import Snapshots, StatsFlusher
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.failing_requests import FailingRequests
from strangler_proxy.dataplane.headers import new_request_id
from strangler_proxy.dataplane.internal_endpoints import RESERVED_PREFIX, InternalEndpoints
from strangler_proxy.dataplane.metrics import REFUSED_ROUTE, REFUSED_TARGET, MetricsExporter
from strangler_proxy.dataplane.paths import PathRefused, normalise_path
from strangler_proxy.dataplane.resources import Counters, WorkerResources, start_worker
from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.store_client import StoreClient
from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths
from strangler_proxy.dataplane.upgrade import UPGRADE
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging
from strangler_proxy.telemetry import TracingConfig

__all__ = ["PUBLIC_HEALTH", "RESERVED_PREFIX", "DataPlane", "create_app", "create_app_from_environment"]

logger = logging.getLogger(__name__)

PUBLIC_HEALTH = RESERVED_PREFIX + "healthz"
_LOGGED_TARGET_BYTES = 2048
"""A refused request's target is logged up to this many bytes (it may be what made it refused)."""


class DataPlane:
    """One worker's ASGI application: dispatch and lifespan. What it serves with exists between
    lifespan startup and shutdown only (:class:`WorkerResources`); its counters from construction on."""

    def __init__(
        self,
        settings: DataPlaneSettings,
        *,
        store_factory: Callable[[str], StoreClient] = StoreClient,
        tracing: TracingConfig | None = None,
    ) -> None:
        self.settings = settings
        self.worker_id = f"{settings.resolved_instance_name}:{os.getpid()}"
        self._tracing = tracing or TracingConfig(enabled=False)
        self._store_factory = store_factory
        self._internal_port = settings.dataplane_internal_port
        self._resources: WorkerResources | None = None
        stats, breakers = RequestStats(), Breakers()
        self.counters = Counters(
            stats=stats,
            unmatched=UnmatchedPaths(settings.unmatched_paths_top),
            failing=FailingRequests(settings.failing_requests_per_route),
            breakers=breakers,
            snapshots=Snapshots(settings.metrics_dir, stats, breakers, self._served_version),
        )
        self._internal = InternalEndpoints(
            worker_id=self.worker_id,
            instance=settings.resolved_instance_name,
            breakers=breakers,
            snapshots=self.counters.snapshots,
            exporter=MetricsExporter(settings.metrics_dir),
            resources=lambda: self._resources,
        )

    @property
    def resources(self) -> WorkerResources | None:
        """The started worker's parts; None before startup and after shutdown."""
        return self._resources

    def _served_version(self) -> int:
        return self._resources.live.current.version if self._resources is not None else 0

    # --- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            server = scope.get("server")
            if (server is not None and server[1] == self._internal_port) or scope["path"] == PUBLIC_HEALTH:
                await self._internal(scope, send)
                return
            resources = self._resources
            if resources is None:
                await self._refuse(scope, send, 503, "starting", "the data plane is not started")
                return
            try:
                scope["path"], scope["raw_path"] = normalise_path(scope.get("raw_path") or b"/")
            except PathRefused as exc:
                await self._refuse(scope, send, 400, "bad_path", str(exc))
                return
            extensions = scope.get("extensions")
            if extensions is not None and UPGRADE in extensions:
                await resources.websockets(scope, receive, send, extensions[UPGRADE])
                return
            await resources.forwarder(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1011, "reason": "websockets are not proxied"})

    async def _refuse(self, scope: Scope, send: Send, status: int, reason: str, detail: str) -> None:
        client = scope.get("client")
        self.record_refusal(
            status,
            reason,
            detail,
            method=scope["method"],
            target=scope.get("raw_path") or b"",
            client=client[0] if client else "",
        )
        await respond_json(send, status, {"error": reason, "detail": detail})

    def record_refusal(
        self, status: int, reason: str, detail: str, *, method: str, target: bytes | str, client: str
    ) -> None:
        """Count and log a request the proxy answered itself before routing it: ``reason`` is a short
        code (``bad_path``, ``headers_too_large``...), a metric label; ``detail`` goes to the access log
        only. Also called by the connection protocol (``protocol.py``) for what it refuses."""
        self.counters.stats.refuse(status, reason)
        resources = self._resources
        if resources is not None and resources.access_log is not None:
            resources.access_log.record(
                new_request_id(),
                method,
                target[:_LOGGED_TARGET_BYTES],
                REFUSED_ROUTE,
                REFUSED_TARGET,
                "",
                resources.live.current.version,
                status,
                0.0,
                client,
                f"{reason}: {detail}",
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("data plane worker failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- lifecycle ----------------------------------------------------------------------------
    async def startup(self) -> None:
        """Build the worker's resources (a failed start-up undoes what it had done)."""
        self._resources = await start_worker(
            self.settings,
            self.counters,
            worker_id=self.worker_id,
            store_factory=self._store_factory,
            tracing=self._tracing,
        )

    async def shutdown(self) -> None:
        """Stop the background tasks, flush the counts, close every connection."""
        if self._resources is not None:
            await self._resources.close()
            return
        counters = self.counters  # never started: the counts go to a last metrics snapshot only
        flusher = StatsFlusher(
            self.settings,
            stats=counters.stats,
            unmatched=counters.unmatched,
            failing=counters.failing,
            snapshots=counters.snapshots,
            writer=None,
            live=None,
        )
        await flusher.flush(include_current=True)


def create_app(settings: DataPlaneSettings, **kwargs: Any) -> DataPlane:
    """The data plane's ASGI application for ``settings``."""
    return DataPlane(settings, **kwargs)


def create_app_from_environment() -> DataPlane:
    """Factory for ``uvicorn --factory``: settings read once from the environment (in each worker)."""
    if not logging.getLogger().handlers:  # uvicorn's log_config (``__main__``) normally set them
        configure_json_logging()
    init_error_tracking("strangler-dataplane", os.environ)
    return create_app(DataPlaneSettings(), tracing=TracingConfig.from_environ(os.environ))
