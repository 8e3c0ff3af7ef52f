"""The control plane's Starlette application: ``create_app(settings)``.

Routes: /healthz, /readyz, the JSON API under /api/v1, the admin UI and its /static files. The
lifespan migrates and bootstraps the store, runs the guards and disposes of the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from strangler_proxy.controlplane.api import api_routes
from strangler_proxy.controlplane.errors import ControlPlaneError
from strangler_proxy.controlplane.headers import SecurityHeaders
from strangler_proxy.controlplane.limits import LOGIN_BODY_BYTES, LOGIN_PATHS, BodyLimit
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.controlplane.ui import ui_routes
from strangler_proxy.store.engine import make_engine

__all__ = ["API_PREFIX", "create_app"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
HOUSEKEEPING_INTERVAL_S = 60.0


def create_app(settings: ControlPlaneSettings, services: ControlPlaneServices | None = None) -> Starlette:
    """The control plane for ``settings``; ``services`` may be given by tests that built their own."""
    services = services or build_services(settings, make_engine(settings.resolved_store_url))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        report = await run_in_threadpool(services.bootstrap)
        log.info(
            "store at revision %s (first version published: %s)",
            report.revision,
            report.published_first_version,
        )
        tasks = [asyncio.create_task(_housekeeping(services))]
        if settings.guards_enabled:
            tasks.append(asyncio.create_task(_run_guards(services)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.engine.dispose()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            await run_in_threadpool(_check_store, services)
        except Exception as exc:  # any failure of the store means not ready; say which
            return JSONResponse(
                {"status": "unavailable", "checks": {"store": f"{type(exc).__name__}: {exc}"}},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "checks": {"store": "ok"}})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Mount(API_PREFIX, routes=api_routes(services)),
        *ui_routes(services),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False),
            Middleware(
                BodyLimit,
                max_bytes=settings.admin_max_body_bytes,
                per_path=dict.fromkeys(LOGIN_PATHS, LOGIN_BODY_BYTES),
            ),
        ],
        exception_handlers={ControlPlaneError: _service_error, HTTPException: _http_error},
    )


def _check_store(services: ControlPlaneServices) -> None:
    with services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    services.tables.active()


async def _run_guards(services: ControlPlaneServices) -> None:
    interval = services.settings.guard_interval_s
    while True:
        try:
            await run_in_threadpool(services.guards.tick)
        except Exception:  # a failed tick is logged and retried; the guards must keep running
            log.exception("guard tick failed")
        await asyncio.sleep(interval)


async def _housekeeping(services: ControlPlaneServices) -> None:
    while True:
        try:
            removed = await run_in_threadpool(
                services.observability.prune, retention_s=services.settings.stats_retention_s
            )
            if removed:
                log.info(
                    "pruned %d per-second rows older than %ss", removed, services.settings.stats_retention_s
                )
            await run_in_threadpool(services.sessions.prune)
            await run_in_threadpool(services.denials.prune)
        except Exception:  # a failed pruning is logged and retried next minute
            log.exception("pruning old stats failed")
        await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlPlaneError)
    if exc.status_code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    retry_after = getattr(exc, "retry_after_s", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if request.url.path.startswith(API_PREFIX) or "application/json" in request.headers.get("accept", ""):
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)
    return Response(
        exc.message, status_code=exc.status_code, media_type="text/plain; charset=utf-8", headers=headers
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PREFIX):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse(
            {"error": code, "message": f"{request.method} {request.url.path}: {exc.detail}"},
            status_code=exc.status_code,
            headers=exc.headers,
        )
    return Response(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
