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
from strangler_proxy.dataplane.answers import answer_error, debug_headers, stream_body
from strangler_proxy.dataplane.breaker import Breakers
from strangler_proxy.dataplane.errors import (
    InjectedFault,
    ProxyError,
    RequestTooLarge,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from strangler_proxy.dataplane.failing_requests import FailingRequests
from strangler_proxy.dataplane.failures import describe_failure
from strangler_proxy.dataplane.faults import fault_applies
from strangler_proxy.dataplane.headers import (
    ForwardedRequest,
    TrustedPeers,
    prepare_request_headers,
)
from strangler_proxy.dataplane.identity import IDENTITY_HEADER, IdentityResolver
from strangler_proxy.dataplane.live import LiveTable, UpstreamInfo
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
    read_body,
)
from strangler_proxy.dataplane.routing import Target
from strangler_proxy.dataplane.shadow.channel import ShadowClient
from strangler_proxy.dataplane.shadow.exchange import submit_exchange
from strangler_proxy.dataplane.single_write import NO_CONTENT_STATUSES, SINGLE_WRITE, WHOLE_BODY
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.tracing import RequestTracer
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

SMALL_BODY_BYTES = 64 * 1024
"""Answers with a Content-Length up to this size are read whole and sent in one message."""
_DEFAULT_TIMEOUTS = Timeouts()
_LEGACY = Target.LEGACY.value
_NEW = Target.NEW.value
_TARGET_NEW = Target.NEW
_SECURE = b"; Secure"
_CLIENT_GONE = 499
_MIRRORED = ("x-strangler-mirrored", "1")
"""On a write the legacy answers and a service will be shown (shadow): see strangler_django's
``SessionSnapshotMiddleware``."""


class Forwarder:
    """Serves proxied requests for one worker; everything it uses is passed in. One coroutine serves
    a request from start to end (the common case, a closed breaker and no fault, shadow or fallback,
    runs straight through it); the steps that do not await are functions of their own."""

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
        # long: one coroutine per request, read top to bottom: decide, admit, the body, read-your-writes,
        # identity, the upstream (one fallback at most), the answer, observe. The steps that await stay
        # inline (a sub-coroutine per step would cost a frame per request); the others are named methods.
        start = perf_counter()
        served = self._live.current
        upstreams = served.upstreams
        method: str = scope["method"]
        raw_headers = scope["headers"]
        decision = served.compiled.decide(method, scope["path"], raw_headers)
        if decision.rule is None and self._unmatched is not None:
            self._unmatched.add(scope["path"])
        client = scope.get("client")
        client_host = client[0] if client else ""
        request = prepare_request_headers(
            raw_headers,
            client_host=client_host,
            scheme=scope["scheme"],
            trusted=self._trusted,
            default_host=upstreams[LEGACY].host,
        )
        tracer = self._tracer
        span = (
            None
            if tracer is None
            else tracer.start(
                request, raw_headers, client_host, method, scope["path"], decision, served.version
            )
        )
        route = decision.route
        target = _NEW if decision.target is _TARGET_NEW else _LEGACY
        upstream_name = decision.upstream
        status = 0
        error: str | None = None
        failure = ""
        key = (route, target)
        in_flight = self._stats.in_flight
        in_flight[key] = in_flight.get(key, 0) + 1
        try:
            rule = decision.rule
            can_fall_back = admit(decision, method, request, target)
            shadowed = decision.shadow_upstream is not None and self._shadow is not None
            body: bytes | BodyStream | None = None
            if request.content_length or request.chunked:
                limit = DEFAULT_MAX_BODY_BYTES if rule is None else rule.max_body_bytes
                body = (
                    await read_body(receive, limit)
                    if can_fall_back
                    else BodyStream(receive, limit, tee=shadowed)
                )
            upstream = upstreams.get(upstream_name)
            if upstream is None:
                raise not_in_table(upstream_name, served)
            if self._arrivals is not None and method in FALLBACK_METHODS:
                cookie = position_cookie(raw_headers)
                if cookie is not None and await self._wait_for_own_write(cookie, target, upstream, scope):
                    target, upstream_name = _LEGACY, LEGACY
                    upstream, can_fall_back = upstreams[LEGACY], False
            headers = mirror_headers = request.headers
            identity = self._identity
            if identity is not None and (target is _NEW or shadowed):
                session = identity.session_of(raw_headers)
                if session is not None:
                    signed = await identity.header_for_session(session, request.traceparent)
                    if signed is not None:
                        mirror_headers = [*request.headers, (IDENTITY_HEADER, signed)]
                        if target is _NEW:
                            headers = mirror_headers
            if shadowed and target is _LEGACY and method not in FALLBACK_METHODS:
                # the legacy keeps the session as it was before this request, for the mirror to read
                headers = [*headers, _MIRRORED]
            qs: bytes = scope["query_string"]
            raw_target = scope.get("raw_path") or scope["path"].encode()
            if qs:
                raw_target = raw_target + b"?" + qs
            timeouts = _DEFAULT_TIMEOUTS if rule is None else rule.timeouts
            client_timeout = self._timeouts.get(timeouts)
            attempt_start = perf_counter()
            while True:  # the upstream's answer, and at most one fallback to the legacy
                try:
                    breaker = self._breakers.get(upstream.name, upstream.breaker)
                    if not breaker.allow():
                        raise circuit_open(upstream.name)
                    if rule is not None and rule.fault is not None and fault_applies(rule.fault, target):
                        await inject(rule.fault, upstream.name, breaker)
                    try:
                        response = await self._upstream.send(
                            method,
                            URL(upstream.base_url + raw_target.decode("latin-1"), encoded=True),
                            headers,
                            body,
                            client_timeout,
                        )
                    except (aiohttp.ClientError, TimeoutError, RequestTooLarge, ClientDisconnected) as exc:
                        raise open_failed(exc, upstream, breaker, body, timeouts) from exc
                    except BaseException:
                        breaker.release()  # no verdict on the upstream (the request was cancelled)
                        raise
                    out, answer_length, _ = judge_answer(
                        response, upstream, breaker, can_fall_back, request, self._max_head_bytes
                    )
                    break
                except (UpstreamError, InjectedFault) as exc:
                    if not can_fall_back or (isinstance(exc, InjectedFault) and exc.status < 500):
                        raise
                    can_fall_back = False
                    self._falling_back(exc, route, scope, request, attempt_start)
                    target, upstream_name = _LEGACY, LEGACY
                    upstream, headers = upstreams[LEGACY], request.headers
            # --- the answer back to the client -----------------------------------------------------
            if self._positions is not None and method not in FALLBACK_METHODS and response.status < 400:
                side = LEGACY if target is _LEGACY else upstream_name
                self._positions.answer_to_cookie(out, side, secure=request.public_scheme == "https")
            if decision.set_cookie is not None:
                secure = request.public_scheme == "https"
                out.append((b"set-cookie", decision.set_cookie + _SECURE if secure else decision.set_cookie))
            if self._debug:
                out += debug_headers(route, target, upstream_name, served)
            status = response.status
            tee: list[bytes] | None = [] if shadowed else None
            started = False
            try:
                if answer_length is not None and (
                    answer_length <= SMALL_BODY_BYTES or status in NO_CONTENT_STATUSES
                ):
                    # small answers (most API calls) in one piece, one write when the server offers it
                    payload = await response.read()
                    started = True
                    extensions = scope.get("extensions")
                    if extensions is not None and SINGLE_WRITE in extensions:
                        await send(
                            {
                                "type": "http.response.start",
                                "status": status,
                                "headers": out,
                                WHOLE_BODY: payload,
                            }
                        )
                    else:
                        await send({"type": "http.response.start", "status": status, "headers": out})
                        await send({"type": "http.response.body", "body": payload, "more_body": False})
                    if tee is not None:
                        tee.append(payload)
                else:
                    started = True
                    await send({"type": "http.response.start", "status": status, "headers": out})
                    tee = await stream_body(response, send, tee)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = _relay_failed(exc, response, started, upstream.name, request)
                return
            response.release()
            if shadowed and self._shadow is not None:
                submit_exchange(
                    self._shadow,
                    scope,
                    served,
                    decision,
                    request,
                    status,
                    out,
                    tee,
                    body,
                    raw_target,
                    mirror_headers,
                )
        except ProxyError as exc:
            status, error, failure = exc.status, exc.detail, exc.code
            if exc.upstream is not None:
                upstream_name = exc.upstream
            debug = debug_headers(route, target, upstream_name, served) if self._debug else None
            await answer_error(send, exc, request, debug)
        except ClientDisconnected as exc:
            status, error = _CLIENT_GONE, str(exc)
        finally:
            in_flight[key] -= 1
            self._observe(
                scope,
                start,
                key,
                target,
                upstream_name,
                served,
                request,
                status,
                error,
                failure,
                span,
                client_host,
            )

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


def _relay_failed(
    exc: aiohttp.ClientError | TimeoutError,
    response: aiohttp.ClientResponse,
    started: bool,
    name: str,
    request: ForwardedRequest,
) -> str:
    """The upstream failed while its answer was relayed: before anything was sent, the error to answer
    is raised; after, the client's connection is closed and the error to record is returned."""
    response.close()
    if not started:
        if isinstance(exc, TimeoutError):
            raise UpstreamTimeout(
                f"upstream {name!r} stopped sending its answer for longer than the read timeout",
                upstream=name,
            ) from exc
        raise UpstreamProtocolError(f"upstream {name!r} {describe_failure(exc)}", upstream=name) from exc
    error = f"upstream {name!r} {describe_failure(exc)}"
    logger.warning(
        "%s; closing the client connection (request id %s)",
        error,
        request.request_id,
        extra={"trace_id": request.traceparent[3:35]},
    )
    return error
