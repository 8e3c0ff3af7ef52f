"""Forwarding one request: choose the side, stream the body up, stream the answer back.

Request bodies stream to the upstream as they arrive, and response bodies stream back chunk by chunk;
a body is held in memory only when it may have to be sent twice (a GET/HEAD that can fall back to the
legacy) or compared (a shadowed request, teed up to 1 MiB). Failures map to the errors of
:mod:`.errors`; a GET or HEAD whose new upstream fails is answered by the legacy when the route's
``fallback`` is ``legacy``. Nothing else is ever retried.
"""

from __future__ import annotations

import logging
from time import perf_counter

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from strangler_proxy.dataplane.access_log import AccessLog
from strangler_proxy.dataplane.admission import (
    DEFAULT_MAX_BODY_BYTES,
    FALLBACK_METHODS,
    admit,
    circuit_open,
    not_in_table,
)
from strangler_proxy.dataplane.answers import (
    SMALL_BODY_BYTES,
    RelayCut,
    answer_error,
    debug_headers,
    relay,
)
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.errors import (
    InjectedFault,
    ProxyError,
    RequestTooLarge,
    UpstreamError,
)
from strangler_proxy.dataplane.failing_requests import FailingRequests
from strangler_proxy.dataplane.faults import fault_applies
from strangler_proxy.dataplane.headers import (
    ForwardedRequest,
    TrustedPeers,
    prepare_request_headers,
)
from strangler_proxy.dataplane.identity_resolver import IDENTITY_HEADER, Credential, IdentityResolver
from strangler_proxy.dataplane.live import LiveTable, ServedTable, UpstreamInfo
from strangler_proxy.dataplane.observe import RequestObserver
from strangler_proxy.dataplane.read_your_writes import (
    ArrivalWaiter,
    PositionCodec,
    position_cookie,
)
from strangler_proxy.dataplane.request_body import (
    TEE_LIMIT_BYTES,
    BodyStream,
    ClientDisconnected,
    request_body,
)
from strangler_proxy.dataplane.routing import Decision, Target
from strangler_proxy.dataplane.shadow.channel import ShadowClient
from strangler_proxy.dataplane.shadow.exchange import submit_exchange
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.tracing import RequestSpan, RequestTracer
from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths
from strangler_proxy.dataplane.upstream_failures import (
    inject,
    judge_answer,
    open_failed,
)
from strangler_proxy.dataplane.upstream_request import (
    MAX_RESPONSE_HEADER_BYTES,
    ClientTimeouts,
    UpstreamClient,
)
from strangler_proxy.routes import LEGACY, Timeouts

__all__ = ["DEFAULT_MAX_BODY_BYTES", "SMALL_BODY_BYTES", "TEE_LIMIT_BYTES", "Forwarder"]

logger = logging.getLogger(__name__)

_DEFAULT_TIMEOUTS = Timeouts()
_LEGACY = Target.LEGACY.value
_NEW = Target.NEW.value
_TARGET_NEW = Target.NEW
_SECURE = b"; Secure"
_CLIENT_GONE = 499
_MIRRORED = ("x-strangler-mirrored", "1")
"""On a write the legacy answers and a service will be shown (shadow): see strangler_django's
``SessionSnapshotMiddleware``."""

Head = list[tuple[bytes, bytes]]
"""An answer's headers as the client will see them."""


class Forwarder:
    """Serves proxied requests for one worker; everything it uses is passed in. ``__call__`` is the
    request's steps in order, each a function or method of its own; the common request (a closed
    breaker, no body, session, fault, shadow or fallback) awaits two of them, the upstream's answer
    and the relay, so that the split costs no more than a frame or two per request."""

    def __init__(
        self,
        *,
        upstream: UpstreamClient,
        live: LiveTable,
        breakers: Breakers,
        stats: RequestStats,
        access_log: AccessLog | None,
        trusted: TrustedPeers,
        shadow: ShadowClient | None = None,
        identity: IdentityResolver | None = None,
        debug_headers: bool = False,
        max_response_header_bytes: int = MAX_RESPONSE_HEADER_BYTES,
        tracer: RequestTracer | None = None,
        unmatched: UnmatchedPaths | None = None,
        positions: PositionCodec | None = None,
        arrivals: ArrivalWaiter | None = None,
        failing: FailingRequests | None = None,
    ) -> None:
        self._upstream = upstream
        self._live = live
        self._breakers = breakers
        self._stats = stats
        self._trusted = trusted
        self._shadow = shadow
        self._identity = identity
        self._debug = debug_headers
        self._timeouts = ClientTimeouts()
        self._max_head_bytes = max_response_header_bytes
        self._tracer = tracer
        self._unmatched = unmatched
        """Counts the paths no rule matched, by shape (``strangler inventory``'s shares)."""
        self._positions = positions
        self._arrivals = arrivals
        self._observe = RequestObserver(stats, failing, access_log).record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = perf_counter()
        served = self._live.current
        method: str = scope["method"]
        decision = served.compiled.decide(method, scope["path"], scope["headers"])
        request, span, peer = self._arrive(scope, decision, served)
        route, upstream_name = decision.route, decision.upstream
        target = _NEW if decision.target is _TARGET_NEW else _LEGACY
        status, error, failure = 0, None, ""
        key = (route, target)
        in_flight = self._stats.in_flight
        in_flight[key] = in_flight.get(key, 0) + 1
        try:
            can_fall_back = admit(decision, method, request, target)
            shadow = None if decision.shadow_upstream is None else self._shadow
            body = None
            if request.content_length or request.chunked:
                body = await request_body(receive, decision.rule, whole=can_fall_back, tee=shadow is not None)
            upstream = served.upstreams.get(upstream_name)
            if upstream is None:
                raise not_in_table(upstream_name, served)
            if self._arrivals is not None and method in FALLBACK_METHODS:
                cookie = position_cookie(scope["headers"])
                if cookie is not None and await self._wait_for_own_write(cookie, target, upstream, scope):
                    target, upstream_name = _LEGACY, LEGACY
                    upstream, can_fall_back = served.upstreams[LEGACY], False
            headers = mirrored = request.headers
            session = self._session(scope, target, shadow)
            if session is not None:
                headers, mirrored = await self._sign(session, request, target)
            if shadow is not None and target is _LEGACY and method not in FALLBACK_METHODS:
                headers = [*headers, _MIRRORED]  # the legacy keeps the session as it was, for the mirror
            raw_target = _raw_target(scope)
            attempt_start = perf_counter()
            while True:  # the upstream's answer, and at most one fallback to the legacy
                try:
                    response, out, length = await self._attempt(
                        method, raw_target, upstream, target, decision, headers, body, can_fall_back, request
                    )
                    break
                except (UpstreamError, InjectedFault) as exc:
                    if not can_fall_back or (isinstance(exc, InjectedFault) and exc.status < 500):
                        raise
                    can_fall_back = False
                    self._falling_back(exc, route, scope, request, attempt_start)
                    target, upstream_name = _LEGACY, LEGACY
                    upstream, headers = served.upstreams[LEGACY], request.headers
            status = response.status
            self._answer_head(out, decision, method, status, target, upstream_name, request, served)
            tee = await relay(response, out, length, scope, send, shadow is not None, upstream.name, request)
            response.release()
            if shadow is not None:
                submit_exchange(
                    shadow, scope, served, decision, request, status, out, tee, body, raw_target, mirrored
                )
        except ProxyError as exc:
            status, error, failure = exc.status, exc.detail, exc.code
            if exc.upstream is not None:
                upstream_name = exc.upstream
            debug = debug_headers(route, target, upstream_name, served) if self._debug else None
            await answer_error(send, exc, request, debug)
        except RelayCut as exc:
            error = exc.detail
        except ClientDisconnected as exc:
            status, error = _CLIENT_GONE, str(exc)
        finally:
            in_flight[key] -= 1
            self._observe(
                scope, start, key, target, upstream_name, served, request, status, error, failure, span, peer
            )

    def _arrive(
        self, scope: Scope, decision: Decision, served: ServedTable
    ) -> tuple[ForwardedRequest, RequestSpan | None, str]:
        """The request as it goes upstream (its headers filtered, the proxy's own added), its span when
        tracing is on, the client's address; a path no rule matched is counted."""
        if decision.rule is None and self._unmatched is not None:
            self._unmatched.add(scope["path"])
        client = scope.get("client")
        peer = client[0] if client else ""
        raw_headers = scope["headers"]
        request = prepare_request_headers(
            raw_headers,
            client_host=peer,
            scheme=scope["scheme"],
            trusted=self._trusted,
            default_host=served.upstreams[LEGACY].host,
        )
        tracer = self._tracer
        if tracer is None:
            return request, None, peer
        span = tracer.start(
            request, raw_headers, peer, scope["method"], scope["path"], decision, served.version
        )
        return request, span, peer

    def _session(self, scope: Scope, target: str, shadow: ShadowClient | None) -> Credential | None:
        """The client's credential when the request (or its mirror) goes to a service, which is told
        who the user is; None otherwise, or when the client sent none (no await then)."""
        identity = self._identity
        if identity is None or (target is not _NEW and shadow is None):
            return None
        return identity.session_of(scope["headers"])

    async def _sign(
        self, session: Credential, request: ForwardedRequest, target: str
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The headers for the upstream and for the mirror, with the user's signed identity when there
        is a user behind ``session`` (the upstream's only when it is a service)."""
        assert self._identity is not None
        signed = await self._identity.header_for_session(session, request.traceparent)
        if signed is None:
            return request.headers, request.headers
        mirrored = [*request.headers, (IDENTITY_HEADER, signed)]
        return (mirrored if target is _NEW else request.headers), mirrored

    async def _attempt(
        self,
        method: str,
        raw_target: bytes,
        upstream: UpstreamInfo,
        target: str,
        decision: Decision,
        headers: list[tuple[str, str]],
        body: bytes | BodyStream | None,
        can_fall_back: bool,
        request: ForwardedRequest,
    ) -> tuple[aiohttp.ClientResponse, Head, int | None]:
        """One try at ``upstream``: its breaker asked, the route's fault injected, the request sent, the
        answer judged; returns the answer, its head as the client will see it, its Content-Length."""
        rule = decision.rule
        breaker = self._breakers.get(upstream.name, upstream.breaker)
        if not breaker.allow():
            raise circuit_open(upstream.name)
        if rule is not None and rule.fault is not None and fault_applies(rule.fault, target):
            await inject(rule.fault, upstream.name, breaker)
        timeouts = _DEFAULT_TIMEOUTS if rule is None else rule.timeouts
        url = URL(upstream.base_url + raw_target.decode("latin-1"), encoded=True)
        try:
            response = await self._upstream.send(method, url, headers, body, self._timeouts.get(timeouts))
        except (aiohttp.ClientError, TimeoutError, RequestTooLarge, ClientDisconnected) as exc:
            raise open_failed(exc, upstream, breaker, body, timeouts) from exc
        except BaseException:
            breaker.release()  # no verdict on the upstream (the request was cancelled)
            raise
        out, length, _ = judge_answer(
            response, upstream, breaker, can_fall_back, request, self._max_head_bytes
        )
        return response, out, length

    def _answer_head(
        self,
        out: Head,
        decision: Decision,
        method: str,
        status: int,
        target: str,
        upstream_name: str,
        request: ForwardedRequest,
        served: ServedTable,
    ) -> None:
        """The proxy's additions to the answer's head: the read-your-writes position after a write, the
        route's sticky-cohort cookie, the debug headers when they are on."""
        if self._positions is not None and method not in FALLBACK_METHODS and status < 400:
            side = LEGACY if target is _LEGACY else upstream_name
            self._positions.answer_to_cookie(out, side, secure=request.public_scheme == "https")
        if decision.set_cookie is not None:
            secure = request.public_scheme == "https"
            out.append((b"set-cookie", decision.set_cookie + _SECURE if secure else decision.set_cookie))
        if self._debug:
            out += debug_headers(decision.route, target, upstream_name, served)

    def _falling_back(
        self,
        exc: UpstreamError | InjectedFault,
        route: str,
        scope: Scope,
        request: ForwardedRequest,
        attempt_start: float,
    ) -> None:
        """The new upstream failed a GET or HEAD the legacy may answer: count the failure, say so."""
        self._stats.record(
            (route, _NEW), exc.status if exc.status >= 500 else 502, perf_counter() - attempt_start
        )
        logger.warning(
            "falling back to the legacy for %s %s: %s",
            scope["method"],
            scope["path"],
            exc.detail,
            extra={"trace_id": request.traceparent[3:35]},
        )

    async def _wait_for_own_write(
        self, cookie: str, target: str, upstream: UpstreamInfo, scope: Scope
    ) -> bool:
        """Wait (bounded) until the side this read goes to holds the client's last write from the other
        side; True when it does not in time and the read, bound for a service, goes to the legacy."""
        assert self._positions is not None and self._arrivals is not None
        position = self._positions.read(cookie)
        side = LEGACY if target is _LEGACY else upstream.name
        if position is None or position.side == side or self._arrivals.taken(side, position):
            return False
        missed = await self._arrivals.wait(side, upstream.base_url, position)
        if missed is None:
            return False
        to_legacy = target is not _LEGACY
        logger.warning(
            "read-your-writes: %s %s %s: %s",
            scope["method"],
            scope["path"],
            "served by the legacy" if to_legacy else "served as it is",
            missed,
        )
        return to_legacy


def _raw_target(scope: Scope) -> bytes:
    """The request target as the client sent it (path and query, still percent-encoded)."""
    raw_target: bytes = scope.get("raw_path") or scope["path"].encode()
    qs: bytes = scope["query_string"]
    return raw_target + b"?" + qs if qs else raw_target
