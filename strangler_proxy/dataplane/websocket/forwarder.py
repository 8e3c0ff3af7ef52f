"""Forwarding a WebSocket: route the handshake like any request, then relay bytes until either side closes.

    decide (rules, canary bucket, override)  ->  limits (per worker, per route)  ->  breaker
      -> handshake to the upstream (identity header for a new side; a GET on a new side whose
         upstream fails before answering falls back to the legacy when its rule says so)
      -> 101: the client's connection is taken over and joined to the upstream's (relay.py)
         other answer: relayed as the upstream sent it, then the connection closes

Shadow rules serve the socket from their primary side and never mirror it. Once a socket is open no
fallback applies. Open sockets stay where they are when a new table is applied, unless the new table
sends their handshake elsewhere while they are on a new side (a rollback, a panic): they are then
closed after ``websocket_rollback_grace_s`` with 1012, so their clients reconnect by the new table.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from time import perf_counter

from starlette.types import Receive, Scope, Send

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.errors import (
    BadRequest,
    CircuitOpen,
    ProxyError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHeadersTooLarge,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from strangler_proxy.dataplane.headers import (
    ForwardedRequest,
    TrustedPeers,
    prepare_request_headers,
)
from strangler_proxy.dataplane.identity_resolver import IDENTITY_HEADER, IdentityResolver
from strangler_proxy.dataplane.live import LiveTable, ServedTable, UpstreamInfo
from strangler_proxy.dataplane.routing import Decision, Target
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.upgrade import ClientUpgrade
from strangler_proxy.dataplane.websocket.handshake import HandshakeAnswer, HandshakeFailed, open_handshake
from strangler_proxy.dataplane.websocket.heads import (
    answer_error,
    handshake_head,
    relay_refusal,
    switching_head,
)
from strangler_proxy.dataplane.websocket.relay import ClientSide, Relay, UpstreamSide
from strangler_proxy.routes import LEGACY, Timeouts

__all__ = ["SocketLimit", "SocketLimits", "WebSocketForwarder"]

logger = logging.getLogger(__name__)

_NEW = Target.NEW
_DEFAULT_TIMEOUTS = Timeouts()
_MOVED = (1012, "the route moved; reconnect")
_SHUTDOWN = (1001, "the proxy is restarting; reconnect")


class SocketLimit(ProxyError):
    status = 503
    code = "websocket_limit"


@dataclass(frozen=True)
class SocketLimits:
    idle_timeout_s: float = 300.0
    max_per_worker: int = 1000
    max_per_route: int = 1000
    rollback_grace_s: float = 5.0
    max_response_header_bytes: int = 64 * 1024


@dataclass(eq=False)
class _OpenSocket:
    relay: Relay
    route: str
    upstream: str
    path: str
    headers: list[tuple[bytes, bytes]]
    """The handshake's headers (with its canary bucket), to decide again when the table changes."""
    closing: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class _Observed:
    """How a handshake ended, for its count and log line."""

    route: str
    target: str
    upstream: str
    version: int
    status: int
    error: str | None
    client_host: str


class WebSocketForwarder:
    """Serves WebSocket handshakes and relays for one worker."""

    def __init__(
        self,
        *,
        live: LiveTable,
        breakers: Breakers,
        stats: RequestStats,
        access_log: AccessLog | None,
        trusted: TrustedPeers,
        identity: IdentityResolver | None,
        limits: SocketLimits,
    ) -> None:
        self._live = live
        self._breakers = breakers
        self._stats = stats
        self._log = access_log
        self._trusted = trusted
        self._identity = identity
        self._limits = limits
        self._open: set[_OpenSocket] = set()
        self._per_route: dict[str, int] = {}

    @property
    def open_sockets(self) -> int:
        return len(self._open)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, offer: ClientUpgrade) -> None:
        start = perf_counter()
        served = self._live.current
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        decision = served.compiled.decide("GET", scope["path"], raw_headers)
        client = scope.get("client")
        client_host = client[0] if client else ""
        request = prepare_request_headers(
            raw_headers,
            client_host=client_host,
            scheme=scope["scheme"],
            trusted=self._trusted,
            default_host=served.upstreams[LEGACY].host,
        )
        route = decision.route
        target = "new" if decision.target is _NEW else "legacy"
        upstream_name = decision.upstream
        status = 0
        error: str | None = None
        relay: Relay | None = None
        recorded = False
        try:
            self._admit(request, route)
            rule = decision.rule
            timeouts = rule.timeouts if rule is not None else _DEFAULT_TIMEOUTS
            can_fall_back = rule is not None and target == "new" and rule.action.fallback == "legacy"
            headers = await self._signed(raw_headers, request) if target == "new" else request.headers
            while True:
                upstream = _upstream(served, upstream_name)
                try:
                    answer = await self._handshake(upstream, _raw_target(scope), headers, timeouts)
                except UpstreamError as exc:
                    if not can_fall_back:
                        raise
                    can_fall_back = False
                    logger.warning(
                        "WebSocket falling back to the legacy for %s: %s", scope["path"], exc.detail
                    )
                    target, upstream_name, headers = "legacy", LEGACY, request.headers
                    continue
                break
            status = answer.status
            key = (route, target)
            self._stats.record(key, status, perf_counter() - start)  # the handshake, not the socket
            recorded = True
            extra: list[tuple[bytes, bytes]] = []
            if decision.set_cookie is not None:
                secure = request.public_scheme == "https"
                extra.append((b"set-cookie", decision.set_cookie + (b"; Secure" if secure else b"")))
            if answer.status != 101:
                await relay_refusal(send, answer, upstream, request.public_scheme, request.public_host, extra)
                return
            relay = Relay(idle_timeout_s=self._limits.idle_timeout_s, loop=asyncio.get_running_loop())
            socket = _OpenSocket(
                relay, route, upstream_name, scope["path"], _remembered(raw_headers, decision)
            )
            error = await self._join(socket, key, answer, offer, extra)
        except ProxyError as exc:
            status = exc.status
            error = exc.detail
            if exc.upstream is not None:
                upstream_name = exc.upstream
            await answer_error(send, exc, request.request_id, request.accept)
        finally:
            observed = _Observed(route, target, upstream_name, served.version, status, error, client_host)
            self._observe(scope, request.request_id, start, observed, relay, recorded)

    def _admit(self, request: ForwardedRequest, route: str) -> None:
        """Refused: a header value that is not UTF-8; a worker or route at its limit of open sockets."""
        if request.not_utf8 is not None:
            raise BadRequest(f"the value of header {request.not_utf8!r} is not UTF-8")
        limits = self._limits
        if len(self._open) >= limits.max_per_worker:
            raise SocketLimit(f"this worker has {limits.max_per_worker} WebSockets open, its limit")
        if self._per_route.get(route, 0) >= limits.max_per_route:
            raise SocketLimit(f"route {route!r} has {limits.max_per_route} WebSockets open, its limit")

    async def _signed(
        self, raw_headers: list[tuple[bytes, bytes]], request: ForwardedRequest
    ) -> list[tuple[str, str]]:
        """The handshake's headers for a service: with the user's signed identity when there is one."""
        if self._identity is None:
            return request.headers
        session = self._identity.session_of(raw_headers)
        if session is None:
            return request.headers
        signed = await self._identity.header_for_session(session)
        return request.headers if signed is None else [*request.headers, (IDENTITY_HEADER, signed)]

    async def _join(
        self,
        socket: _OpenSocket,
        key: tuple[str, str],
        answer: HandshakeAnswer,
        offer: ClientUpgrade,
        extra: list[tuple[bytes, bytes]],
    ) -> str | None:
        """The upstream said 101: the client's connection is taken over and joined to the upstream's
        until either side closes; returns why it ended (None: cleanly)."""
        relay = socket.relay
        assert answer.transport is not None
        client_transport = offer.take_over(
            switching_head(answer.headers, extra), ClientSide(relay, offer.finished)
        )
        answer.transport.set_protocol(UpstreamSide(relay))
        self._opened(socket, key)
        offer.on_shutdown = lambda: relay.close(*_SHUTDOWN, "shutdown")
        relay.start(client_transport, answer.transport, offer.tail, answer.tail)
        error: str | None = None
        try:
            error = await relay.done
        finally:
            self._closed(socket, key, error or "cancelled")
        return error

    def _observe(
        self,
        scope: Scope,
        request_id: str,
        start: float,
        observed: _Observed,
        relay: Relay | None,
        recorded: bool,
    ) -> None:
        """The handshake counted (when its answer was not), the access log line: of the socket once it
        closes, else of the handshake's answer."""
        o = observed
        duration = perf_counter() - start
        path = scope.get("raw_path") or scope["path"]
        if relay is not None:
            if self._log is not None:
                self._log.record_socket(
                    request_id,
                    path,
                    o.route,
                    o.target,
                    o.upstream,
                    o.version,
                    duration,
                    o.client_host,
                    o.error or "cancelled",
                    relay.bytes_up,
                    relay.bytes_down,
                )
            return
        if not recorded:
            self._stats.record((o.route, o.target), o.status or 500, duration)
        if self._log is not None:
            self._log.record(
                request_id,
                "GET",
                path,
                o.route,
                o.target,
                o.upstream,
                o.version,
                o.status,
                duration,
                o.client_host,
                o.error,
            )

    async def _handshake(
        self, upstream: UpstreamInfo, raw_target: bytes, headers: list[tuple[str, str]], timeouts: Timeouts
    ) -> HandshakeAnswer:
        breaker = self._breakers.get(upstream.name, upstream.breaker)
        if not breaker.allow():
            raise CircuitOpen(
                f"the circuit breaker of upstream {upstream.name!r} is open", upstream=upstream.name
            )
        name = upstream.name
        try:
            answer = await open_handshake(
                upstream.base_url,
                handshake_head(raw_target, headers),
                connect_timeout_s=timeouts.connect_s,
                read_timeout_s=timeouts.read_s,
                max_head_bytes=self._limits.max_response_header_bytes,
            )
        except TimeoutError as exc:
            breaker.record_failure()
            raise UpstreamTimeout(
                f"upstream {name!r} did not answer the WebSocket handshake in time", upstream=name
            ) from exc
        except HandshakeFailed as exc:
            breaker.record_failure()
            kind = UpstreamHeadersTooLarge if "limits" in exc.kind else UpstreamProtocolError
            raise kind(f"upstream {name!r} {exc.kind}", upstream=name) from exc
        except OSError as exc:
            breaker.record_failure()
            reason = exc.strerror or type(exc).__name__
            raise UpstreamConnectError(
                f"cannot connect to upstream {name!r}: {reason}", upstream=name
            ) from exc
        except BaseException:
            breaker.release()
            raise
        if answer.status >= 500:
            breaker.record_failure()
            raise UpstreamError(
                f"upstream {name!r} answered {answer.status} to the WebSocket handshake", upstream=name
            )
        breaker.record_success()
        return answer

    # --- open sockets -------------------------------------------------------------------------
    def _opened(self, socket: _OpenSocket, key: tuple[str, str]) -> None:
        self._open.add(socket)
        self._per_route[socket.route] = self._per_route.get(socket.route, 0) + 1
        self._stats.socket_opened(key)

    def _closed(self, socket: _OpenSocket, key: tuple[str, str], outcome: str) -> None:
        self._open.discard(socket)
        self._per_route[socket.route] -= 1
        if socket.closing is not None:
            socket.closing.cancel()
        self._stats.socket_closed(key, outcome, socket.relay.bytes_up, socket.relay.bytes_down)

    def table_changed(self, served: ServedTable) -> None:
        """A new table is served: new-side sockets whose handshake it sends elsewhere are closed after
        the grace (a rollback or panic); legacy sockets and the others stay where they are."""
        loop = asyncio.get_running_loop()
        for socket in list(self._open):
            if socket.upstream == LEGACY:
                continue
            decision = served.compiled.decide("GET", socket.path, socket.headers)
            stays = decision.target is _NEW and decision.upstream == socket.upstream
            if stays and socket.closing is not None:
                socket.closing.cancel()
                socket.closing = None
            elif not stays and socket.closing is None:
                socket.closing = loop.call_later(
                    self._limits.rollback_grace_s, socket.relay.close, *_MOVED, "moved"
                )

    def close_all(self) -> None:
        """Close every open socket now (1001): the worker stops."""
        for socket in list(self._open):
            socket.relay.close(*_SHUTDOWN, "shutdown")


def _upstream(served: ServedTable, name: str) -> UpstreamInfo:
    upstream = served.upstreams.get(name)
    if upstream is None:
        raise UpstreamConnectError(
            f"upstream {name!r} is not in route table version {served.version}", upstream=name
        )
    return upstream


def _raw_target(scope: Scope) -> bytes:
    raw_target: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope["query_string"]
    return raw_target + b"?" + query if query else raw_target


def _remembered(raw_headers: list[tuple[bytes, bytes]], decision: Decision) -> list[tuple[bytes, bytes]]:
    """The handshake's headers with its canary bucket, to decide again when the table changes."""
    remembered = list(raw_headers)
    if decision.set_cookie is not None:
        remembered.append((b"cookie", decision.set_cookie.split(b";", 1)[0]))
    return remembered
