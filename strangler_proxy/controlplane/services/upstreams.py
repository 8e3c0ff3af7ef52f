"""The upstream registry: address checks on registration, and health probes."""

from __future__ import annotations

import asyncio
import builtins
import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import ValidationError
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import BadRequest, Conflict, NotFound, Refused
from strangler_proxy.controlplane.repositories import upstreams as repo
from strangler_proxy.controlplane.services.clock import Clock, utcnow
from strangler_proxy.routes import LEGACY, RouteTable, Upstream

__all__ = ["UpstreamService", "address_problems"]

_METADATA_V4 = ipaddress.ip_network("169.254.0.0/16")
_METADATA_V6 = ipaddress.ip_address("fd00:ec2::254")
_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


def address_problems(url: str, *, own_host: str, own_port: int) -> list[str]:
    """Why ``url`` may not be registered as an upstream; empty when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return [f"{url!r}: the scheme must be http or https"]
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return [f"{url!r}: give scheme, host and port only (no path, query or credentials)"]
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return [f"{url!r}: the port is not a number between 0 and 65535"]
    if not host:
        return [f"{url!r}: the host is missing"]
    if port is None:
        return [f"{url!r}: give an explicit port (http://host:port)"]
    problems = []
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and (
        ip in _METADATA_V4 if ip.version == 4 else ip == _METADATA_V6 or ip in _LINK_LOCAL_V6
    ):
        problems.append(f"{url!r}: link-local and cloud metadata addresses are refused")
    own = {own_host} | (_LOOPBACK_NAMES if own_host in _LOOPBACK_NAMES else set())
    if port == own_port and host in own:
        problems.append(f"{url!r} is the control plane itself")
    return problems


class UpstreamService:
    def __init__(
        self, engine: Engine, *, own_host: str, own_port: int, health_timeout_s: float, clock: Clock = utcnow
    ) -> None:
        self._engine = engine
        self._own = (own_host, own_port)
        self._timeout = health_timeout_s
        self._clock = clock

    def list(self) -> list[Upstream]:
        with self._engine.connect() as conn:
            return repo.list_upstreams(conn)

    def get(self, name: str) -> Upstream:
        with self._engine.connect() as conn:
            upstream = repo.get_upstream(conn, name)
        if upstream is None:
            raise NotFound(f"upstream {name!r} is not registered")
        return upstream

    def parse(self, data: dict[str, Any]) -> Upstream:
        url = str(data.get("url", "")).rstrip("/")
        problems = address_problems(url, own_host=self._own[0], own_port=self._own[1])
        if problems:
            raise Refused("upstream refused", problems=problems)
        try:
            return Upstream.model_validate({**data, "url": url})
        except ValidationError as exc:
            raise Refused("upstream refused", problems=[_error_text(e) for e in exc.errors()]) from exc

    def save(self, data: dict[str, Any]) -> tuple[Upstream, bool]:
        """Register or update an upstream; return it and whether it was new."""
        upstream = self.parse(data)
        with self._engine.begin() as conn:
            created = repo.save_upstream(conn, upstream, now=self._clock())
        return upstream, created

    def delete(self, name: str, active: RouteTable) -> None:
        if name == LEGACY:
            raise BadRequest("the legacy upstream cannot be removed")
        if name in active.upstreams:
            raise Conflict(
                f"upstream {name!r} is used by the active version {active.version}; flip its routes first"
            )
        with self._engine.begin() as conn:
            if not repo.delete_upstream(conn, name):
                raise NotFound(f"upstream {name!r} is not registered")

    async def health(self) -> builtins.list[dict[str, Any]]:
        """Probe every upstream's /healthz at once: healthy when it answers 2xx; any other answer is
        shown as it came (``status``, and ``error`` naming it)."""
        upstreams = self.list()
        async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            results = await asyncio.gather(*(self._probe(client, u) for u in upstreams))
        return list(results)

    async def _probe(self, client: httpx2.AsyncClient, upstream: Upstream) -> dict[str, Any]:
        started = time.perf_counter()
        result: dict[str, Any] = {"name": upstream.name, "url": upstream.url}
        try:
            response = await client.get(upstream.url.rstrip("/") + "/healthz")
        except httpx2.HTTPError as exc:
            return {**result, "healthy": False, "status": None, "error": f"{type(exc).__name__}: {exc}"}
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        healthy = 200 <= response.status_code < 300
        answer = {**result, "healthy": healthy, "status": response.status_code, "latency_ms": elapsed}
        if not healthy:
            answer["error"] = f"/healthz answered {response.status_code} {response.reason_phrase}".rstrip()
        return answer


def _error_text(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))
