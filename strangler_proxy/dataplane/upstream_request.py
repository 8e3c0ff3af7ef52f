"""One request to an upstream through the session's keep-alive pool, without the session's extras.

``ClientSession.request`` wraps aiohttp's request and response in machinery a transparent proxy never
uses: redirects, a cookie jar, basic auth, proxies and ``.netrc``, trace hooks, client middlewares and
an overall deadline, set up and torn down for every request. :class:`UpstreamClient` takes the same
steps ``ClientSession._request`` takes for one request with none of those (aiohttp 3.14): build the
request (:class:`~strangler_proxy.dataplane.upstream_session.ProxyRequest`, the session's request
class), take a connection from the session's connector (its pool, its connect timeout), set the read
timeout and parser limits (the status line and each header field up to ``max_header_bytes``, at most
``max_headers`` headers: ``STRANGLER_MAX_RESPONSE_HEADER_BYTES`` and ``STRANGLER_MAX_RESPONSE_HEADERS``),
send, and read the status line and headers.

What is kept from the session, on purpose:

- a connection error or timeout raises the same aiohttp exceptions (``ClientConnectorError``,
  ``ConnectionTimeoutError``, ``ServerTimeoutError``, ``ClientOSError``...), which the forwarder maps
  to 502 and 504;
- a request that finds its pooled connection closed by the upstream (``ServerDisconnectedError`` or
  ``ClientOSError``, but not a failure to connect) is sent once more on a new connection, as the
  session does, but only when it is idempotent (aiohttp's ``IDEMPOTENT_METHODS``) and has no body or
  a body held in memory: a streamed body is never replayed.

:data:`AIOHTTP_SESSION_REQUEST` pins the hash of the aiohttp code this mirrors, of the release named by
:data:`AIOHTTP_MIRRORED_VERSION` (``tests/unit/dataplane/test_upstream_request.py``), so an aiohttp
upgrade that changes it is reviewed here. Measured with
``python -m benchmarks.instructions --connections 1``: 566 k instructions per request through
``ClientSession.request``, 504 k through this (docs/performance.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.client import IDEMPOTENT_METHODS
from aiohttp.client_exceptions import ConnectionTimeoutError
from aiohttp.helpers import EMPTY_BODY_METHODS, TimerNoop
from yarl import URL

from strangler_proxy.dataplane.upstream_session import ProxyRequest
from strangler_proxy.routes.model import Timeouts

__all__ = [
    "AIOHTTP_MIRRORED_VERSION",
    "AIOHTTP_SESSION_REQUEST",
    "MAX_RESPONSE_HEADERS",
    "MAX_RESPONSE_HEADER_BYTES",
    "READ_BUFFER_BYTES",
    "ClientTimeouts",
    "UpstreamClient",
]

READ_BUFFER_BYTES = 2**16
MAX_RESPONSE_HEADER_BYTES = 64 * 1024
"""Default limit of an answer's status line and of each header field (name or value); the forwarder
checks the same figure against all the headers together. aiohttp's own defaults (8,190 bytes, 128
headers) refuse valid answers, e.g. a 9 KB Content-Security-Policy."""
MAX_RESPONSE_HEADERS = 256

#: the aiohttp release whose ``ClientSession._request`` (aiohttp/client.py) :class:`UpstreamClient` mirrors
#: (written against 3.14; the method is unchanged through this release, the locked one)
AIOHTTP_MIRRORED_VERSION = "3.14.5"
#: sha256 of ``inspect.getsource(aiohttp.ClientSession._request)`` of that release
AIOHTTP_SESSION_REQUEST = "32986b8105faf5f829c07924811d1697c23685e86e68fa9148869d5369557615"

_NO_DEADLINE = TimerNoop()


class ClientTimeouts:
    """aiohttp's ``ClientTimeout`` for a rule's :class:`Timeouts`, made once per ``Timeouts`` object.

    Keyed by identity (hashing a pydantic model costs more); an entry keeps its ``Timeouts`` alive,
    so its id is not reused while it is cached. Tables come and go: past ``max_entries`` the cache
    starts again."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._made: dict[int, tuple[Timeouts, aiohttp.ClientTimeout]] = {}
        self._max_entries = max_entries

    def get(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        cached = self._made.get(id(timeouts))
        if cached is None:
            if len(self._made) > self._max_entries:
                self._made.clear()
            client = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=timeouts.connect_s, sock_read=timeouts.read_s
            )
            cached = self._made[id(timeouts)] = (timeouts, client)
        return cached[1]


class UpstreamClient:
    """Sends requests through ``session``'s pool (the session stays the owner: it closes the pool)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        max_header_bytes: int = MAX_RESPONSE_HEADER_BYTES,
        max_headers: int = MAX_RESPONSE_HEADERS,
    ) -> None:
        connector = session.connector
        if connector is None:
            raise ValueError("the session has no connector")
        self._session = session
        self._connector = connector
        self._loop = asyncio.get_running_loop()
        self._max_header_bytes = max_header_bytes
        self._max_headers = max_headers

    async def send(
        self, method: str, url: URL, headers: Any, body: Any, timeout: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        """Send ``method url`` with exactly ``headers`` (a ``CIMultiDict`` or a list of (name, value)
        pairs, left unchanged) and ``body``; the answer's head has been read.

        ``body`` is None, bytes, or an async iterable of bytes (streamed, never replayed). The caller
        reads the answer's body and releases or closes the response.
        """
        replayable = method in IDEMPOTENT_METHODS and (body is None or isinstance(body, bytes))
        while True:
            try:
                return await self._send_once(method, url, headers, body, timeout)
            except aiohttp.ClientConnectorError:
                raise  # no connection was made: nothing was dropped (the session does not retry either)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # A keep-alive connection the upstream closed while it sat in the pool: one more try,
                # on a new connection, for a request that can be sent twice (as the session does).
                if not replayable:
                    raise
                replayable = False

    async def _send_once(
        self, method: str, url: URL, headers: Any, body: Any, timeout: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        if self._session.closed:
            raise RuntimeError("the upstream session is closed")
        connector = self._connector
        request = ProxyRequest(
            method,
            url,
            headers=headers,
            data=body,
            loop=self._loop,
            response_class=aiohttp.ClientResponse,
            timer=_NO_DEADLINE,
            session=self._session,
        )
        try:
            try:
                connection = await connector.connect(request, traces=[], timeout=timeout)
            except TimeoutError as exc:
                raise ConnectionTimeoutError(f"Connection timeout to host {url}") from exc
            protocol = connection.protocol
            assert protocol is not None
            protocol.set_response_params(
                timer=_NO_DEADLINE,
                skip_payload=method in EMPTY_BODY_METHODS,
                read_until_eof=True,
                auto_decompress=False,
                read_timeout=timeout.sock_read,
                read_bufsize=READ_BUFFER_BYTES,
                timeout_ceil_threshold=timeout.ceil_threshold,
                max_line_size=self._max_header_bytes,
                max_field_size=self._max_header_bytes,
                max_headers=self._max_headers,
            )
            try:
                response = await request.send(connection)
                try:
                    await response.start(connection)
                except BaseException:
                    response.close()
                    raise
            except BaseException:
                connection.close()
                raise
        except OSError as exc:
            # as the session: a bare OSError from the transport is a ClientOSError. The request's
            # body is not awaited here: its writer ends with the connection closed above.
            if isinstance(exc, (aiohttp.ClientError, TimeoutError)):
                raise
            raise aiohttp.ClientOSError(*exc.args) from exc
        return response
