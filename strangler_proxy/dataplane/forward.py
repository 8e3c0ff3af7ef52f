"""Forwarding one request: choose the side, stream the body up, stream the answer back.

Request bodies stream to the upstream as they arrive, and response bodies stream back chunk by chunk;
a body is held in memory only when it may have to be sent twice (a GET/HEAD that can fall back to the
legacy) or compared (a shadowed request, teed up to 1 MiB). Failures map to the errors of
:mod:`.errors`; a GET or HEAD whose new upstream fails is answered by the legacy when the route's
``fallback`` is ``legacy``. Nothing else is ever retried.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import aiohttp
from yarl import URL

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.errors import (
    BadRequest,
    CircuitOpen,
    InjectedFault,
    ProxyError,
    RequestTooLarge,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    render_error,
)
from strangler_proxy.dataplane.faults import apply_fault, fault_applies
from strangler_proxy.dataplane.headers import (
    ForwardedRequest,
    TrustedPeers,
    filter_response_headers,
    prepare_request_headers,
)
from strangler_proxy.dataplane.identity import IDENTITY_HEADER, IdentityResolver
from strangler_proxy.dataplane.live import LiveTable, ServedTable, UpstreamInfo
from strangler_proxy.dataplane.routing import Decision, Target
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.routes import LEGACY, Rule, Timeouts

__all__ = ["DEFAULT_MAX_BODY_BYTES", "SMALL_BODY_BYTES", "TEE_LIMIT_BYTES", "Forwarder"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
TEE_LIMIT_BYTES = 1024 * 1024
SMALL_BODY_BYTES = 64 * 1024
"""Answers with a Content-Length up to this size are read whole and sent in one message."""
_DEFAULT_TIMEOUTS = Timeouts()
_FALLBACK_METHODS = frozenset({"GET", "HEAD"})
_LEGACY = Target.LEGACY.value
_NEW = Target.NEW.value
_CLIENT_GONE = 499


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


class _BodyStream:
    """The client's body as an async iterator for aiohttp, counted against the route's limit."""

    __slots__ = ("_limit", "_receive", "disconnected", "received", "tee", "too_large")

    def __init__(self, receive: Any, limit: int, *, tee: bool) -> None:
        self._receive = receive
        self._limit = limit
        self.received = 0
        self.too_large = False
        self.disconnected = False
        self.tee: list[bytes] | None = [] if tee else None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                raise ClientDisconnected("client disconnected while sending its body")
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                if self.received > self._limit:
                    self.too_large = True
                    raise RequestTooLarge(f"request body exceeds the route's limit of {self._limit} bytes")
                if self.tee is not None:
                    if self.received <= TEE_LIMIT_BYTES:
                        self.tee.append(chunk)
                    else:
                        self.tee = None
                yield chunk
            if not message.get("more_body", False):
                return


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("client disconnected while sending its body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(f"request body exceeds the route's limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


@dataclass(slots=True)
class _Exchange:
    """The mutable facts of one request, for stats and the access log."""

    target: str
    upstream: str
    status: int = 0
    error: str | None = None


class Forwarder:
    """Serves proxied requests for one worker; everything it uses is passed in."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        live: LiveTable,
        breakers: Breakers,
        stats: RequestStats,
        access_log: AccessLog | None,
        trusted: TrustedPeers,
        shadow: Any = None,
        identity: IdentityResolver | None = None,
        debug_headers: bool = False,
    ) -> None:
        self._session = session
        self._live = live
        self._breakers = breakers
        self._stats = stats
        self._log = access_log
        self._trusted = trusted
        self._shadow = shadow
        self._identity = identity
        self._debug = debug_headers
        # keyed by identity (hashing a pydantic model costs more); the entry keeps its Timeouts alive
        self._timeouts: dict[int, tuple[Timeouts, aiohttp.ClientTimeout]] = {}

    def _client_timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        cached = self._timeouts.get(id(timeouts))
        if cached is None:
            if len(self._timeouts) > 10_000:  # tables come and go: forget the old ones' entries
                self._timeouts.clear()
            client = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=timeouts.connect_s, sock_read=timeouts.read_s
            )
            cached = self._timeouts[id(timeouts)] = (timeouts, client)
        return cached[1]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = perf_counter()
        served = self._live.current
        method: str = scope["method"]
        raw_headers = scope["headers"]
        decision = served.compiled.decide(method, scope["path"], raw_headers)
        client = scope.get("client")
        client_host = client[0] if client else ""
        legacy = served.upstreams[LEGACY]
        request = prepare_request_headers(
            raw_headers,
            client_host=client_host,
            scheme=scope["scheme"],
            trusted=self._trusted,
            default_host=legacy.host,
        )
        exchange = _Exchange(decision.target.value, decision.upstream)
        key = (decision.route, exchange.target)
        stats = self._stats
        in_flight = stats.in_flight
        in_flight[key] = in_flight.get(key, 0) + 1
        try:
            await self._serve(scope, receive, send, served, decision, request, exchange, start)
        except ProxyError as exc:
            await self._answer_error(send, exc, request, exchange, served, decision)
        except ClientDisconnected as exc:
            exchange.status = _CLIENT_GONE
            exchange.error = str(exc)
        finally:
            duration = perf_counter() - start
            in_flight[key] -= 1
            stats.record(
                key if exchange.target is key[1] else (decision.route, exchange.target),
                exchange.status or 500,
                duration,
            )
            if self._log is not None:
                self._log.record(
                    request.request_id,
                    method,
                    scope.get("raw_path") or scope["path"],
                    decision.route,
                    exchange.target,
                    exchange.upstream,
                    served.version,
                    exchange.status,
                    duration,
                    client_host,
                    exchange.error,
                )

    async def _serve(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        served: ServedTable,
        decision: Decision,
        request: ForwardedRequest,
        exchange: _Exchange,
        start: float,
    ) -> None:
        rule = decision.rule
        method: str = scope["method"]
        limit = rule.max_body_bytes if rule is not None else DEFAULT_MAX_BODY_BYTES
        if request.content_length == -1:
            raise BadRequest("the Content-Length header is not a non-negative integer")
        if request.content_length is not None and request.content_length > limit:
            raise RequestTooLarge(
                f"request body of {request.content_length} bytes exceeds the route's limit of {limit} bytes"
            )
        can_fall_back = (
            decision.target is Target.NEW
            and rule is not None
            and rule.action.fallback == "legacy"
            and method in _FALLBACK_METHODS
        )
        shadowed = decision.shadow_upstream is not None and self._shadow is not None
        body: bytes | _BodyStream | None = None
        if request.has_body:
            body = (
                await _read_body(receive, limit)
                if can_fall_back
                else _BodyStream(receive, limit, tee=shadowed)
            )
        qs: bytes = scope["query_string"]
        raw_target = scope.get("raw_path") or scope["path"].encode()
        if qs:
            raw_target = raw_target + b"?" + qs
        timeouts = rule.timeouts if rule is not None else _DEFAULT_TIMEOUTS
        upstream = served.upstreams.get(decision.upstream)
        if upstream is None:
            raise UpstreamConnectError(
                f"upstream {decision.upstream!r} is not in route table version {served.version}",
                upstream=decision.upstream,
            )
        new_headers = request.headers
        if self._identity is not None and (decision.target is Target.NEW or shadowed):
            identity = await self._identity.header_for(scope["headers"])
            if identity is not None:
                new_headers = [*request.headers, (IDENTITY_HEADER, identity)]
        attempt_start = perf_counter()
        try:
            headers = new_headers if decision.target is Target.NEW else request.headers
            response = await self._open(
                upstream, exchange.target, method, raw_target, headers, body, timeouts, rule
            )
            if can_fall_back and response.status >= 500:
                response.release()
                raise UpstreamError(
                    f"upstream {upstream.name!r} answered {response.status}", upstream=upstream.name
                )
        except (UpstreamError, InjectedFault) as exc:
            if not can_fall_back or (isinstance(exc, InjectedFault) and exc.status < 500):
                raise
            failed = exc.status if exc.status >= 500 else 502
            self._stats.record((decision.route, _NEW), failed, perf_counter() - attempt_start)
            logger.warning("falling back to the legacy for %s %s: %s", method, scope["path"], exc.detail)
            exchange.target, exchange.upstream = _LEGACY, LEGACY
            upstream = served.upstreams[LEGACY]
            response = await self._open(
                upstream, _LEGACY, method, raw_target, request.headers, body, timeouts, rule
            )
        await self._relay(
            scope,
            send,
            served,
            decision,
            request,
            exchange,
            upstream,
            response,
            body,
            raw_target,
            new_headers,
        )

    async def _open(
        self,
        upstream: UpstreamInfo,
        target: str,
        method: str,
        raw_target: bytes,
        headers: list[tuple[str, str]],
        body: bytes | _BodyStream | None,
        timeouts: Timeouts,
        rule: Rule | None,
    ) -> aiohttp.ClientResponse:
        breaker = self._breakers.get(upstream.name, upstream.breaker)
        if not breaker.allow():
            raise CircuitOpen(
                f"the circuit breaker of upstream {upstream.name!r} is open", upstream=upstream.name
            )
        judged = False
        try:
            if rule is not None and rule.fault is not None and fault_applies(rule.fault, target):
                try:
                    await apply_fault(rule.fault, upstream=upstream.name)  # type: ignore[arg-type]
                except InjectedFault as exc:
                    if exc.status >= 500:
                        breaker.record_failure()
                        judged = True
                    raise
            url = URL(upstream.base_url + raw_target.decode("latin-1"), encoded=True)
            try:
                response = await self._session.request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=self._client_timeout(timeouts),
                )
            except aiohttp.ConnectionTimeoutError as exc:
                breaker.record_failure()
                judged = True
                raise UpstreamTimeout(
                    f"connecting to upstream {upstream.name!r} timed out after {timeouts.connect_s}s",
                    upstream=upstream.name,
                ) from exc
            except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
                breaker.record_failure()
                judged = True
                raise UpstreamTimeout(
                    f"upstream {upstream.name!r} did not answer within {timeouts.read_s}s",
                    upstream=upstream.name,
                ) from exc
            except aiohttp.ClientConnectorError as exc:
                breaker.record_failure()
                judged = True
                raise UpstreamConnectError(
                    f"cannot connect to upstream {upstream.name!r} at {upstream.base_url}: {exc.os_error}",
                    upstream=upstream.name,
                ) from exc
            except (aiohttp.ClientError, RequestTooLarge, ClientDisconnected) as exc:
                if isinstance(body, _BodyStream):
                    if body.too_large:
                        raise RequestTooLarge(
                            f"request body exceeds the route's limit of {body._limit} bytes"
                        ) from exc
                    if body.disconnected:
                        raise ClientDisconnected(str(exc)) from exc
                breaker.record_failure()
                judged = True
                raise UpstreamProtocolError(
                    f"upstream {upstream.name!r} broke the exchange: {exc!r}", upstream=upstream.name
                ) from exc
            if response.status >= 500:
                breaker.record_failure()
            else:
                breaker.record_success()
            judged = True
            return response
        finally:
            if not judged:
                breaker.release()

    async def _relay(
        self,
        scope: dict[str, Any],
        send: Any,
        served: ServedTable,
        decision: Decision,
        request: ForwardedRequest,
        exchange: _Exchange,
        upstream: UpstreamInfo,
        response: aiohttp.ClientResponse,
        body: bytes | _BodyStream | None,
        raw_target: bytes,
        mirror_headers: list[tuple[str, str]],
    ) -> None:
        headers = filter_response_headers(
            response.raw_headers,
            upstream_origin=upstream.origin,
            public_origin=f"{scope['scheme']}://{request.host}".encode("latin-1"),
        )
        if decision.set_cookie is not None:
            headers.append((b"set-cookie", decision.set_cookie))
        if self._debug:
            headers += self._debug_headers(decision, exchange, served)
        status = response.status
        exchange.status = status
        shadowed = decision.shadow_upstream is not None and self._shadow is not None
        tee: list[bytes] | None = [] if shadowed else None
        length = response.content_length
        started = False
        try:
            if length is not None and length <= SMALL_BODY_BYTES:
                # small answers (most API calls) in one piece: one send instead of a read loop
                payload = await response.read()
                started = True
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": payload, "more_body": False})
                if tee is not None:
                    tee.append(payload)
            else:
                started = True
                await send({"type": "http.response.start", "status": status, "headers": headers})
                tee = await self._stream_body(response, send, tee)
        except (aiohttp.ClientError, TimeoutError) as exc:
            response.close()
            if not started:
                if isinstance(exc, TimeoutError):
                    raise UpstreamTimeout(
                        f"upstream {upstream.name!r} stopped sending its answer for longer than the "
                        "read timeout",
                        upstream=upstream.name,
                    ) from exc
                raise UpstreamProtocolError(
                    f"upstream {upstream.name!r} broke off its answer: {exc!r}", upstream=upstream.name
                ) from exc
            exchange.error = f"upstream {upstream.name!r} broke off its answer: {exc!r}"
            logger.warning(
                "%s; closing the client connection (request id %s)", exchange.error, request.request_id
            )
            return
        response.release()
        if decision.shadow_upstream is not None and self._shadow is not None:
            self._submit_shadow(
                scope, served, decision, request, status, headers, tee, body, raw_target, mirror_headers
            )

    @staticmethod
    async def _stream_body(
        response: aiohttp.ClientResponse, send: Any, tee: list[bytes] | None
    ) -> list[bytes] | None:
        """Relay the body chunk by chunk as it arrives; returns the tee (None once over the limit)."""
        content = response.content
        teed = 0
        while True:
            chunk = await content.readany()
            if not chunk:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return tee
            if tee is not None:
                teed += len(chunk)
                if teed <= TEE_LIMIT_BYTES:
                    tee.append(chunk)
                else:
                    tee = None
            if content.at_eof():
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
                return tee
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    def _submit_shadow(
        self,
        scope: dict[str, Any],
        served: ServedTable,
        decision: Decision,
        request: ForwardedRequest,
        status: int,
        headers: list[tuple[bytes, bytes]],
        tee: list[bytes] | None,
        body: bytes | _BodyStream | None,
        raw_target: bytes,
        mirror_headers: list[tuple[str, str]],
    ) -> None:
        if isinstance(body, _BodyStream):
            if body.tee is None:
                return  # the request body was too large to replay
            request_body = b"".join(body.tee)
        else:
            request_body = body or b""
        self._shadow.submit(
            decision=decision,
            version=served.version,
            request_id=request.request_id,
            method=scope["method"],
            raw_target=raw_target,
            request_headers=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in mirror_headers],
            request_body=request_body,
            legacy_status=status,
            legacy_headers=headers,
            legacy_body=None if tee is None else b"".join(tee),
            upstream_url=served.upstream_url(decision.shadow_upstream),
        )

    def _debug_headers(
        self, decision: Decision, exchange: _Exchange, served: ServedTable
    ) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-strangler-route", decision.route.encode()),
            (b"x-strangler-target", exchange.target.encode()),
            (b"x-strangler-upstream", exchange.upstream.encode()),
            (b"x-strangler-version", str(served.version).encode()),
        ]

    async def _answer_error(
        self,
        send: Any,
        error: ProxyError,
        request: ForwardedRequest,
        exchange: _Exchange,
        served: ServedTable,
        decision: Decision,
    ) -> None:
        exchange.status = error.status
        exchange.error = error.detail
        if error.upstream is not None:
            exchange.upstream = error.upstream
        content_type, payload = render_error(error, request_id=request.request_id, accept=request.accept)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request.request_id.encode()),
            (b"cache-control", b"no-store"),
        ]
        if error.status == 413:
            headers.append((b"connection", b"close"))
        if self._debug:
            headers += self._debug_headers(decision, exchange, served)
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
