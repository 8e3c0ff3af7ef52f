"""The proxy's own endpoints, on the internal port (loopback only), and liveness on the public port:

/_strangler/healthz   200 while the worker runs (it says nothing about the routes)
/_strangler/readyz    200 ``ready``; 200 ``degraded`` (the store stopped answering after it had
                      confirmed the served version); 503 until the store has confirmed it once
/_strangler/version   the served version, its generation, the breakers, the shadow channel
/_strangler/metrics   Prometheus text, to loopback peers only
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.types import Scope, Send

from strangler_proxy.dataplane.answers import respond_bytes, respond_json
from strangler_proxy.dataplane.background import Snapshots
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.metrics import MetricsExporter
from strangler_proxy.dataplane.resources import WorkerResources

__all__ = ["RESERVED_PREFIX", "InternalEndpoints"]

RESERVED_PREFIX = "/_strangler/"
_LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")


class InternalEndpoints:
    """Answers the internal endpoints from what the worker has (its resources once started)."""

    def __init__(
        self,
        *,
        worker_id: str,
        instance: str,
        breakers: Breakers,
        snapshots: Snapshots,
        exporter: MetricsExporter,
        resources: Callable[[], WorkerResources | None],
    ) -> None:
        self._worker_id = worker_id
        self._instance = instance
        self._breakers = breakers
        self._snapshots = snapshots
        self._exporter = exporter
        self._resources = resources

    async def __call__(self, scope: Scope, send: Send) -> None:
        path = scope["path"]
        name = path[len(RESERVED_PREFIX) :] if path.startswith(RESERVED_PREFIX) else ""
        if scope["method"] not in ("GET", "HEAD"):
            await respond_json(send, 405, {"error": "method_not_allowed", "detail": "only GET and HEAD"})
        elif name == "healthz":
            await respond_json(send, 200, {"status": "ok"})
        elif name == "readyz":
            await self._readyz(send)
        elif name == "version":
            await respond_json(send, 200, self._version_document())
        elif name == "metrics":
            client = scope.get("client")
            if client is None or not str(client[0]).startswith(_LOOPBACK_PREFIXES):
                await respond_json(
                    send, 403, {"error": "forbidden", "detail": "metrics are served to loopback peers only"}
                )
                return
            snapshot = self._snapshots.take()
            body = await asyncio.to_thread(self._render_metrics, snapshot)
            await respond_bytes(send, 200, b"text/plain; version=0.0.4; charset=utf-8", body)
        else:
            await respond_json(send, 404, {"error": "not_found", "detail": f"no endpoint {scope['path']!r}"})

    def _render_metrics(self, snapshot: tuple[int, bytes]) -> bytes:
        self._snapshots.store(snapshot)
        return self._exporter.render()

    async def _readyz(self, send: Send) -> None:
        resources = self._resources()
        if resources is None:
            await respond_json(send, 503, {"status": "starting", "checks": {"started": "no"}})
            return
        poller, live = resources.poller, resources.live
        version = live.current.version
        since = live.applied_at.isoformat(timespec="seconds")
        if poller.healthy:
            checks = {"store": "ok", "route_table": f"version {version}"}
            await respond_json(send, 200, {"status": "ready", "checks": checks})
            return
        failing = poller.failing_since.isoformat(timespec="seconds") if poller.failing_since else "start"
        store = f"unreachable since {failing}: {poller.last_error}"
        if not poller.polls:
            kept = resources.kept
            origin = (
                f"kept in the home, applied at {kept.applied_at.isoformat(timespec='seconds')}"
                if kept is not None
                else "the bootstrap table"
            )
            checks = {"store": store, "route_table": f"version {version} ({origin}), not confirmed"}
            await respond_json(send, 503, {"status": "not_ready", "checks": checks})
            return
        checks = {
            "store": store,
            "route_table": f"serving version {version} since {since}, store unreachable",
        }
        await respond_json(send, 200, {"status": "degraded", "checks": checks})

    def _version_document(self) -> dict[str, object]:
        resources = self._resources()
        live = resources.live if resources is not None else None
        served = live.current if live is not None else None
        shadow = resources.shadow if resources is not None else None
        return {
            "worker": self._worker_id,
            "instance": self._instance,
            "version": served.version if served else None,
            "generation": served.generation if served else None,
            "applied_at": live.applied_at.isoformat() if live else None,
            "breakers": self._breakers.states(),
            "shadow": None
            if shadow is None
            else {
                "connected": shadow.connected,
                "submitted": shadow.submitted,
                "dropped": dict(shadow.dropped),
            },
            "now": datetime.now(UTC).isoformat(),
        }
