"""The HTTP/1.1 client the shadow process replays requests with: asyncio protocols, httptools' response
parser and a keep-alive pool per origin.

The shadow process replays every shadowed request, on the CPU time the machine leaves over (it runs
at idle priority). Through aiohttp a replay cost about 30 µs of the shadow process's CPU in request
and response objects, streams and timers it never uses: it needs the whole answer in memory, once,
with its raw headers. :class:`ReplayClient` does only that, so the shadow process keeps up with the
primary path (``python -m benchmarks bench_replay``, docs/performance.md).

What it does, and what it does not:

- sends exactly the headers it is given (text, written as UTF-8, as aiohttp writes it), plus
  ``Host`` when they have none and the body's ``Content-Length``; a name or value with a CR or LF is
  refused (:class:`ValueError`), never written;
- reads the answer whatever its framing (``Content-Length``, chunked, or until the connection
  closes), keeps at most ``max_body_bytes`` of the body (past that, the body is None and the
  connection is closed rather than drained), and never decompresses;
- keeps a connection for the next replay when the answer allows keep-alive;
- a connection the upstream closed while it sat in the pool is tried once more on a new connection,
  only for an idempotent method: a non-idempotent request is never sent twice;
- fails with :class:`ReplayFailed` (a message naming the upstream and what happened): connection
  refused or timed out, no byte for longer than the read timeout, a malformed answer, or a connection
  closed before the answer was complete.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from socket import SOCK_STREAM
from typing import Any
from urllib.parse import urlsplit

from strangler_proxy.dataplane.shadow.replay_connection import (
    ReplayAnswer,
    ReplayConnection,
    ReplayFailed,
    StaleConnection,
)
from strangler_proxy.routes.addresses import OwnSockets, host_spelling, parse_ip, refusal

__all__ = ["IDEMPOTENT_METHODS", "Origin", "ReplayAnswer", "ReplayClient", "ReplayFailed"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""Methods a replay may send a second time when its pooled connection turns out to be closed."""
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})
_BREAKS_LINE = re.compile(r"[ \r\n]")
_BREAKS_LINE_BYTES = re.compile(rb"[ \r\n]")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an upstream's base URL points: scheme, host and port, plus the path it starts with."""

    scheme: str
    host: str
    port: int
    prefix: str
    """The base URL's path without its trailing slash, put before every request target."""
    host_header: str
    pool_key: str
    """``scheme://host:port``: connections are pooled per key (a str, whose hash Python keeps)."""

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        """The origin of ``base_url`` (``http`` or ``https``); ValueError for anything else."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        return cls(
            scheme=parts.scheme,
            host=host,
            port=port,
            prefix=parts.path.rstrip("/"),
            host_header=shown if port == default else f"{shown}:{port}",
            pool_key=f"{parts.scheme}://{shown}:{port}",
        )

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host_header}"


class ReplayClient:
    """Replays requests to upstreams over keep-alive connections (at most ``pool_size`` idle ones
    per origin). Created in the shadow process's event loop; :meth:`aclose` closes every connection."""

    def __init__(
        self,
        *,
        pool_size: int,
        max_body_bytes: int,
        ssl_context: ssl.SSLContext | None = None,
        private: OwnSockets | None = None,
    ) -> None:
        self._pool_size = pool_size
        self._private = private
        """Sockets no replay may reach (the control plane's); every address is checked at connect."""
        self._max_body = max_body_bytes
        self._ssl = ssl_context
        """For https origins; the system's trust store, made on first use, when none is given."""
        self._idle: dict[str, list[ReplayConnection]] = {}
        self._busy: set[ReplayConnection] = set()
        self._origins: dict[str, Origin] = {}
        self._loop = asyncio.get_running_loop()

    def origin(self, base_url: str) -> Origin:
        """The parsed ``base_url`` (cached); ValueError when it is not an http(s) URL."""
        origin = self._origins.get(base_url)
        if origin is None:
            if len(self._origins) > 1024:
                self._origins.clear()
            origin = self._origins[base_url] = Origin.parse(base_url)
        return origin

    async def request(
        self,
        origin: Origin,
        method: str,
        target: bytes,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        connect_s: float,
        read_s: float,
    ) -> ReplayAnswer:
        """Send ``method target`` to ``origin`` with exactly ``headers`` and ``body``; the whole answer.

        ``target`` is the raw request target (path and query, percent-encoding as the client sent it).
        """
        request = _serialise(origin, method, target, headers, body)
        head_only = method == "HEAD"
        retry = method in IDEMPOTENT_METHODS
        while True:
            connection = self._pooled(origin)
            if connection is None:
                connection = await self._connect(origin, connect_s)
            self._busy.add(connection)
            try:
                answer = await connection.send(request, head_only=head_only, read_s=read_s)
            except StaleConnection:
                if not retry:
                    raise ReplayFailed(
                        f"{origin} closed the pooled connection before answering; "
                        f"{method} is not idempotent, so it is not sent again"
                    ) from None
                retry = False
                continue
            except ReplayFailed as exc:
                raise ReplayFailed(f"{origin}: {exc}") from None
            except BaseException:
                connection.abort()
                raise
            finally:
                self._busy.discard(connection)
            if connection.reusable:
                self._release(origin, connection)
            return answer

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()
        for connection in list(self._busy):
            connection.abort()

    def _pooled(self, origin: Origin) -> ReplayConnection | None:
        idle = self._idle.get(origin.pool_key)
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if transport is not None and not transport.is_closing():
                connection.reused = True
                return connection
        return None

    def _release(self, origin: Origin, connection: ReplayConnection) -> None:
        idle = self._idle.setdefault(origin.pool_key, [])
        if len(idle) < self._pool_size:
            idle.append(connection)
        else:
            connection.abort()

    async def _connect(self, origin: Origin, connect_s: float) -> ReplayConnection:
        max_body = self._max_body

        def protocol() -> ReplayConnection:
            return ReplayConnection(max_body)

        tls: Any = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()  # once: it loads the trust store
            tls = self._ssl
        try:
            async with asyncio.timeout(connect_s):
                failure = OSError(f"{origin.host} has no address")
                for address in await self._addresses(origin):
                    try:
                        _, connection = await self._loop.create_connection(
                            protocol,
                            address,
                            origin.port,
                            ssl=tls,
                            server_hostname=host_spelling(origin.host) if tls else None,
                        )
                    except OSError as exc:
                        failure = exc
                        continue
                    return connection
                raise failure
        except TimeoutError:
            raise ReplayFailed(f"could not connect to {origin} within {connect_s:g} s") from None
        except OSError as exc:
            raise ReplayFailed(f"could not connect to {origin}: {exc}") from None

    async def _addresses(self, origin: Origin) -> list[str]:
        """Every address ``origin``'s host stands for now that a replay may reach (the address guard,
        checked at each connection: a name may resolve elsewhere than when it was registered)."""
        address = parse_ip(origin.host)
        if address is not None:
            found = [address]
        else:
            infos = await self._loop.getaddrinfo(host_spelling(origin.host), origin.port, type=SOCK_STREAM)
            found = [a for a in (parse_ip(str(info[4][0])) for info in infos) if a is not None]
        allowed, refused = [], []
        for candidate in found:
            why = refusal(candidate, origin.port, self._private)
            if why:
                refused.append(why)
            else:
                allowed.append(str(candidate))
        if not allowed:
            raise OSError(f"no address a replay may use ({'; '.join(refused) or 'none found'})")
        return allowed


def _serialise(
    origin: Origin, method: str, target: bytes, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes: the target exactly as given, header text as UTF-8 (as aiohttp writes it)."""
    if _BREAKS_LINE.search(method) or _BREAKS_LINE_BYTES.search(target) or not method:
        raise ValueError(f"not a request line: {method!r} {target!r}")
    lines = []
    has_host = False
    for name, value in headers:
        if not has_host and len(name) == 4 and name.lower() == "host":
            has_host = True
        lines.append(f"{name}: {value}\r\n")
    if not has_host:
        lines.append(f"host: {origin.host_header}\r\n")
    if body or method in _BODY_EXPECTED:
        lines.append(f"content-length: {len(body)}\r\n")
    lines.append("\r\n")
    head = "".join(lines)
    if head.count("\n") != len(lines) or head.count("\r") != len(lines):
        raise ValueError(f"a header of the {method} replay has a CR or LF in its name or value")
    start = f"{method} {origin.prefix}".encode() + target + b" HTTP/1.1\r\n"
    return b"".join((start, head.encode("utf-8"), body))
