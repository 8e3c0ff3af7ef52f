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
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httptools

from strangler_proxy.dataplane.single_write import NO_CONTENT_STATUSES
from strangler_proxy.routes.addresses import OwnSockets, host_spelling, parse_ip, refusal

__all__ = ["IDEMPOTENT_METHODS", "Origin", "ReplayAnswer", "ReplayClient", "ReplayFailed"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""Methods a replay may send a second time when its pooled connection turns out to be closed."""
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})
_BREAKS_LINE = re.compile(r"[ \r\n]")
_BREAKS_LINE_BYTES = re.compile(rb"[ \r\n]")


class ReplayFailed(Exception):
    """A replay that got no complete answer; the message says from whom and why."""


class _StaleConnection(ReplayFailed):
    """A pooled connection closed before any byte of the answer: the request may not have arrived."""


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


class ReplayAnswer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    """Raw names and values, in the order received."""
    body: bytes | None
    """None when it was larger than the client's ``max_body_bytes``."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request at a time; httptools calls the ``on_*``
    methods while :meth:`data_received` feeds it."""

    def __init__(self, max_body_bytes: int) -> None:
        self._max_body = max_body_bytes
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[ReplayAnswer] | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.reused = False
        """Taken from the pool (a failure before any byte may mean the upstream had closed it)."""
        self._expect(head_only=False, read_s=0.0)

    def _expect(self, *, head_only: bool, read_s: float) -> None:
        """Start afresh for the next answer."""
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] | None = []
        """None once the body is over the limit."""
        self._size = 0
        self._received = False
        self._head_done = False
        self._head_only = head_only
        self._interim = False
        self._out_of_step = False
        self.reusable = False
        self._read_s = read_s
        self._last_read = self._loop.time()

    # --- asyncio -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._close()  # an answer nobody asked for: this connection is out of step
            return
        self._received = True
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ReplayFailed(f"malformed answer: {exc}"))
        if self._out_of_step:
            self._close()

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head_done and not _framed(self._headers):
            self._finish()  # the body ran until the upstream closed the connection
        elif not self._received and self.reused:
            self._fail(_StaleConnection("the pooled connection was closed before an answer"))
        else:
            reason = f": {exc}" if exc is not None else ""
            self._fail(ReplayFailed(f"the connection closed before the answer was complete{reason}"))

    # --- httptools -----------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._out_of_step = True  # a second answer to one request: read no further

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._out_of_step:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._out_of_step:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100 Continue, 103 Early Hints...: the final answer follows
            self._headers = []
            return
        if self._head_only or status in NO_CONTENT_STATUSES:
            self._finish()
            if self._head_only:
                # llhttp would wait for the body the headers announce: a new parser for the next one
                self._parser = httptools.HttpResponseParser(self)
            return
        self._head_done = True

    def on_body(self, chunk: bytes) -> None:
        if self._chunks is None or self._out_of_step:
            return
        self._size += len(chunk)
        if self._size > self._max_body:
            self._chunks = None
            self._finish()  # no need to read more: the connection is closed, not drained
            return
        self._chunks.append(chunk)

    def on_message_complete(self) -> None:
        if self._out_of_step:
            return
        if self._interim:
            self._interim = False
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._finish()

    # --- one request ---------------------------------------------------------------------------------

    def send(self, request: bytes, *, head_only: bool, read_s: float) -> asyncio.Future[ReplayAnswer]:
        assert self.transport is not None
        self._expect(head_only=head_only, read_s=read_s)
        self._waiter = self._loop.create_future()
        self._timer = self._loop.call_at(self._last_read + read_s, self._check_read_timeout)
        self.transport.write(request)
        return self._waiter

    def _check_read_timeout(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        due = self._last_read + self._read_s
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check_read_timeout)
            return
        self._fail(ReplayFailed(f"read timeout: no byte of the answer for {self._read_s:g} s"))

    def _finish(self) -> None:
        waiter = self._waiter
        assert waiter is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        complete = self._chunks is not None
        body = b"".join(self._chunks) if self._chunks is not None else None
        self.reusable = complete and self.transport is not None and self._parser.should_keep_alive()
        if not self.reusable:
            self._close()
        if not waiter.done():
            waiter.set_result(ReplayAnswer(self._parser.get_status_code(), self._headers, body))

    def _fail(self, error: ReplayFailed) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close now (the replay was cancelled): the answer, if any, is not read."""
        self._close()


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
        self._idle: dict[str, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
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
            except _StaleConnection:
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

    def _pooled(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin.pool_key)
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if transport is not None and not transport.is_closing():
                connection.reused = True
                return connection
        return None

    def _release(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin.pool_key, [])
        if len(idle) < self._pool_size:
            idle.append(connection)
        else:
            connection.abort()

    async def _connect(self, origin: Origin, connect_s: float) -> _Connection:
        max_body = self._max_body

        def protocol() -> _Connection:
            return _Connection(max_body)

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


def _framed(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an answer says where its body ends (else it ends when the connection closes)."""
    return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)


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
