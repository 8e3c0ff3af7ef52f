"""The upstream registry: address checks on registration, and health probes."""

from __future__ import annotations

import asyncio
import builtins
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import ValidationError
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import BadRequest, Conflict, NotFound, Refused
from strangler_proxy.controlplane.repositories import upstreams as repo
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.routes import LEGACY, RouteTable, Upstream
from strangler_proxy.routes.addresses import OwnSockets, host_spelling, parse_ip, refusal, resolve_checked

__all__ = ["UpstreamService", "normalise_upstream_url"]


def normalise_upstream_url(url: str, own: OwnSockets, *, resolve: bool = True) -> tuple[str, list[str]]:
    """``url`` with its host written one way (an address as its canonical text, a name in lower case,
    no trailing dot), and why it may not be an upstream (empty when it may).

    With ``resolve``, a name is resolved and every address it stands for checked; a name that does not
    resolve is refused. Without it (the operator's own start-up configuration, where the name may not
    exist yet), numbers are still checked and names are left to the check made at each connection.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url, [f"{url!r}: the scheme must be http or https"]
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return url, [f"{url!r}: give scheme, host and port only (no path, query or credentials)"]
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return url, [f"{url!r}: the port is not a number between 0 and 65535"]
    if not host:
        return url, [f"{url!r}: the host is missing"]
    if not port:
        return url, [f"{url!r}: give an explicit port between 1 and 65535 (http://host:port)"]
    address = parse_ip(host)
    if address is not None:
        spelled = f"[{address}]" if address.version == 6 else str(address)
    else:
        spelled = host_spelling(host)
        if not _HOST_NAME.fullmatch(spelled):
            return url, [f"{url!r}: {host!r} is neither an address nor a host name"]
    normalised = f"{parts.scheme}://{spelled}:{port}"
    if address is not None:
        why = refusal(address, port, own)
        problems = [why] if why else []
    elif resolve:
        _, problems = resolve_checked(spelled, port, own)
    else:
        problems = []
    return normalised, [f"{url!r}: {problem}" for problem in problems]


_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


class UpstreamService:
    def __init__(
        self,
        engine: Engine,
        *,
        own_host: str,
        own_port: int,
        health_timeout_s: float,
        private: tuple[tuple[str, int], ...] = (),
        clock: Clock = utcnow,
    ) -> None:
        """``own_host``:``own_port`` is the control plane's socket; ``private`` other sockets of the
        toolkit no upstream may reach (the data plane's internal port)."""
        self._engine = engine
        self._own = OwnSockets(((own_host, own_port), *private))
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

    def parse(self, data: dict[str, Any], *, resolve: bool = True) -> Upstream:
        """The upstream ``data`` describes, its URL normalised; Refused (422) with every reason otherwise.

        ``resolve=False`` accepts a host name that does not resolve yet (start-up configuration)."""
        given = str(data.get("url", "")).rstrip("/")
        url, problems = normalise_upstream_url(given, self._own, resolve=resolve)
        if problems:
            raise Refused("upstream refused", problems=problems)
        try:
            return Upstream.model_validate({**data, "url": url})
        except ValidationError as exc:
            raise Refused("upstream refused", problems=[_error_text(e) for e in exc.errors()]) from exc

    def save(self, data: dict[str, Any], *, resolve: bool = True) -> tuple[Upstream, bool]:
        """Register or update an upstream; return it and whether it was new."""
        upstream = self.parse(data, resolve=resolve)
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
        shown as it came (``status``, and ``error`` naming it). A probe reports its failure (an address
        the guard refuses, a URL that does not parse): it never raises."""
        upstreams = self.list()
        async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            results = await asyncio.gather(*(self._probe(client, u) for u in upstreams))
        return list(results)

    async def _probe(self, client: httpx2.AsyncClient, upstream: Upstream) -> dict[str, Any]:
        """GET /healthz on the address checked just now (the name is resolved and checked again, and
        the request goes to that address, so a name cannot resolve elsewhere between check and use)."""
        started = time.perf_counter()
        result: dict[str, Any] = {"name": upstream.name, "url": upstream.url}
        try:
            parts = urlsplit(upstream.url)
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
            addresses, problems = await asyncio.to_thread(resolve_checked, host, port, self._own)
            if problems or not addresses:
                why = "; ".join(problems) or f"{host} has no address"
                return {**result, "healthy": False, "status": None, "error": f"refused: {why}"}
            pinned = f"[{addresses[0]}]" if addresses[0].version == 6 else str(addresses[0])
            response = await client.get(
                f"{parts.scheme}://{pinned}:{port}/healthz",
                headers={"Host": parts.netloc.rpartition("@")[2]},
                extensions={"sni_hostname": host_spelling(host)} if parts.scheme == "https" else {},
            )
        except Exception as exc:  # a probe reports any failure as unhealthy and never breaks the page
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
