"""A plain pass-through for the front door while the data plane does not exist yet.

``python -m migration_plan.supervisor.passthrough`` listens on ``STRANGLER_DATAPLANE_PORT`` and forwards
every request, unchanged, to ``STRANGLER_LEGACY_URL``. It answers ``/_strangler/healthz`` and
``/_strangler/readyz`` itself on that one port (the data plane answers readiness on its loopback-only
internal port; the stand-in has no routes, metrics or version to keep private). No routing, no
metrics: a stand-in only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PassthroughSettings", "create_app", "main"]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_CLIENT = web.AppKey("client", aiohttp.ClientSession)


class PassthroughSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRANGLER_", frozen=True, extra="ignore")

    dataplane_host: str = "127.0.0.1"
    dataplane_port: int = Field(default=8000, ge=1, le=65535)
    legacy_url: str = "http://127.0.0.1:8100"
    upstream_timeout_s: float = Field(default=30.0, gt=0)


def _forward_headers(request: web.Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    peer = request.remote or ""
    previous = request.headers.get("X-Forwarded-For")
    headers.append(("X-Forwarded-For", f"{previous}, {peer}" if previous else peer))
    headers.append(("X-Forwarded-Proto", request.scheme))
    headers.append(("X-Forwarded-Host", request.host))
    return headers


def _upstream_error(legacy: str, exc: Exception) -> web.Response:
    """504 when the monolith was too slow, 502 when it could not be reached or broke the exchange."""
    if isinstance(exc, asyncio.TimeoutError):
        return web.json_response({"error": f"the monolith at {legacy} did not answer in time"}, status=504)
    return web.json_response({"error": f"the monolith at {legacy} is unreachable: {exc}"}, status=502)


def create_app(settings: PassthroughSettings) -> web.Application:
    legacy = settings.legacy_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_s)

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        app[_CLIENT] = aiohttp.ClientSession(auto_decompress=False, timeout=timeout)
        yield
        await app[_CLIENT].close()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        try:
            async with request.app[_CLIENT].get(
                f"{legacy}/healthz", timeout=aiohttp.ClientTimeout(total=2)
            ) as up:
                status = "ok" if up.status == 200 else f"answered {up.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            status = f"unreachable: {type(exc).__name__}"
        ready = status == "ok"
        body = {"status": "ready" if ready else "not ready", "checks": {"legacy": status}}
        return web.json_response(body, status=200 if ready else 503)

    async def forward(request: web.Request) -> web.StreamResponse:
        body = request.content if request.body_exists else None
        response: web.StreamResponse | None = None
        try:
            async with request.app[_CLIENT].request(
                request.method,
                f"{legacy}{request.rel_url}",
                headers=_forward_headers(request),
                data=body,
                allow_redirects=False,
            ) as upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        response.headers.add(key, value)
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(64 * 1024):
                    await response.write(chunk)
                await response.write_eof()
                return response
        except (TimeoutError, aiohttp.ClientError) as exc:
            if response is not None and response.prepared:
                raise  # the status line is gone already: aborting the connection is all that is left
            return _upstream_error(legacy, exc)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(client_context)
    app.router.add_get("/_strangler/healthz", healthz)
    app.router.add_get("/_strangler/readyz", readyz)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    settings = PassthroughSettings()
    address = f"http://{settings.dataplane_host}:{settings.dataplane_port}/"
    print(f"pass-through on {address} -> {settings.legacy_url}", flush=True)
    web.run_app(create_app(settings), host=settings.dataplane_host, port=settings.dataplane_port, print=None)


if __name__ == "__main__":
    main()
