"""Mirror a request the legacy already answered to the new upstream, in the background, and compare.

The shadow process calls :meth:`ShadowMirror.mirror` for each exchange a worker handed over (tests and
in-process callers :meth:`ShadowMirror.submit`); neither blocks nor raises: each schedules a task, or
drops the mirror (and counts it) when the rule's ``max_concurrency`` mirrors are already in flight.
The task replays the request (with ``x-strangler-shadow: 1``, so a service rolls back what an unsafe
method would change) through a :class:`ReplayClient`, which keeps at most its ``max_body_bytes`` of
the answer, compares it with the legacy's and hands the outcome to the sink.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from strangler_proxy.dataplane.routing.decision import Decision
from strangler_proxy.dataplane.shadow.channel import Submission, text_pairs
from strangler_proxy.dataplane.shadow.compare import ResponseSnapshot, compare_responses
from strangler_proxy.dataplane.shadow.records import ShadowOutcome, ShadowSample, ShadowSink
from strangler_proxy.dataplane.shadow.replay_client import ReplayClient, ReplayFailed
from strangler_proxy.dataplane.shadow.tracing import MirrorTracer, trace_id_of
from strangler_proxy.identity_token import IDENTITY_HEADER
from strangler_proxy.routes.model import Rule

__all__ = ["DEFAULT_MAX_BODY_BYTES", "SHADOW_HEADER", "ShadowMirror"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
SHADOW_HEADER = "x-strangler-shadow"

_NOT_MIRRORED = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "content-length",
        "expect",
    }
)
_STRANGLER_PREFIX = "x-strangler-"
_IDENTITY = IDENTITY_HEADER.lower()
_SHADOW_MARK = (SHADOW_HEADER, "1")


class ShadowMirror:
    """One per shadow process, created at startup (in its event loop) with the process's replay
    client (which the caller closes)."""

    def __init__(
        self,
        client: ReplayClient,
        upstream_urls: Callable[[str], str | None],
        sink: ShadowSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tracer: MirrorTracer | None = None,
    ) -> None:
        self._client = client
        self._tracer = tracer
        self._upstream_urls = upstream_urls
        self._sink = sink
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        self._closed = False
        self.submitted = 0
        self.dropped: Counter[str] = Counter()
        """Mirrors dropped per route because ``max_concurrency`` were in flight."""

    def in_flight(self, route: str | None = None) -> int:
        return self._in_flight[route] if route is not None else sum(self._in_flight.values())

    def submit(
        self,
        decision: Decision,
        version: int,
        request_id: str,
        method: str,
        raw_target: bytes,
        request_headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
        request_body: bytes,
        legacy_status: int,
        legacy_headers: list[tuple[bytes, bytes]],
        legacy_body: bytes | None,
        upstream_url: str | None = None,
    ) -> None:
        """Schedule the mirror of one request decided in this process; returns at once, never raises.

        ``upstream_url`` is the shadow upstream's base URL in the route-table version the request
        started with; when None it is looked up by name at the time of the replay."""
        rule, upstream = decision.rule, decision.shadow_upstream
        if rule is None or upstream is None:
            return
        try:
            headers = text_pairs(request_headers)
        except (TypeError, ValueError) as exc:  # as the shadow process refuses such an exchange
            logger.error("shadow mirror of %s %r refused: headers not text: %s", method, raw_target, exc)
            return
        exchange = Submission(
            b"",
            decision.route,
            upstream,
            upstream_url or "",
            version,
            request_id,
            method,
            raw_target,
            headers,
            request_body,
            legacy_status,
            legacy_headers,
            legacy_body,
        )
        self.mirror(rule, exchange)

    def mirror(self, rule: Rule, exchange: Submission) -> None:
        """Schedule the mirror of ``exchange`` under ``rule`` (its shadow settings and timeouts);
        returns at once and never raises. An empty ``exchange.upstream_url`` is looked up by name."""
        route = exchange.route
        try:
            if self._closed:
                return
            if self._in_flight[route] >= rule.action.shadow.max_concurrency:
                self.dropped[route] += 1
                return
            task = asyncio.get_running_loop().create_task(self._run(rule, exchange))
        except Exception:
            logger.exception("shadow mirror of %s %r not scheduled", exchange.method, exchange.raw_target)
            return
        self.submitted += 1
        self._in_flight[route] += 1
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop taking mirrors and cancel those in flight (their outcome is not recorded)."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, rule: Rule, exchange: Submission) -> None:
        """Replay, compare and record: one coroutine, so a mirror costs one task and no more frames
        than it needs."""
        new_status: int | None = None
        answered: int | None = None
        latency: float | None = None
        span = None
        headers = _mirror_headers(exchange.request_headers, exchange.request_id)
        if self._tracer is not None:
            span = self._tracer.start(exchange.route, exchange.method, exchange.request_headers)
            if span is not None:
                headers = [
                    ("traceparent", MirrorTracer.traceparent(span))
                    if name.lower() == "traceparent"
                    else (name, v)
                    for name, v in headers
                ]
        try:
            base = exchange.upstream_url or self._upstream_urls(exchange.upstream)
            if base is None:
                outcome, diff = ShadowOutcome.ERROR, f"upstream {exchange.upstream!r} is unknown"
            else:
                timeouts = rule.timeouts
                client = self._client
                started = time.perf_counter()
                answer = await client.request(
                    client.origin(base),
                    exchange.method,
                    exchange.raw_target,  # the client's raw target as the worker forwarded it
                    headers,
                    exchange.request_body,
                    connect_s=timeouts.connect_s,
                    read_s=timeouts.read_s,
                )
                latency, answered = time.perf_counter() - started, answer.status
                legacy = ResponseSnapshot(
                    exchange.legacy_status, exchange.legacy_headers, exchange.legacy_body
                )
                comparison = compare_responses(rule.action.shadow, legacy, ResponseSnapshot(*answer))
                if comparison.equal:
                    outcome, diff = ShadowOutcome.MATCH, ""
                else:
                    outcome, diff, new_status = ShadowOutcome.MISMATCH, comparison.diff, answer.status
        except ReplayFailed as exc:
            outcome, diff = ShadowOutcome.ERROR, f"new upstream {exchange.upstream!r} failed: {exc}"
            logger.warning(
                "shadow mirror on route %r (request id %s): %s",
                exchange.route,
                exchange.request_id,
                diff,
                extra={"trace_id": trace_id_of(exchange.request_headers)},
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception(
                "shadow mirror of %s %r failed",
                exchange.method,
                exchange.raw_target,
                extra={"trace_id": trace_id_of(exchange.request_headers)},
            )
            outcome, diff = ShadowOutcome.ERROR, f"mirror failed: {exc!r}"
        finally:
            self._in_flight[exchange.route] -= 1
        if span is not None:
            span.set_attribute("strangler.shadow.parity", outcome.value)
            if answered is not None:
                span.set_attribute("http.response.status_code", answered)
            if outcome is ShadowOutcome.ERROR:
                span.add_event("exception", {"exception.type": "ShadowError", "exception.message": diff})
            span.end()
        sample = None if outcome is ShadowOutcome.MATCH else self._sample(exchange, new_status, diff)
        try:
            self._sink.record(
                exchange.route, exchange.version, outcome, sample, new_status=answered, new_latency_s=latency
            )
        except Exception:
            logger.exception("shadow sink refused the outcome of route %r", exchange.route)

    def _sample(self, exchange: Submission, new_status: int | None, diff: str) -> ShadowSample:
        return ShadowSample(
            at=self._clock(),
            route=exchange.route,
            version=exchange.version,
            request_id=exchange.request_id,
            method=exchange.method,
            path=exchange.raw_target.decode("latin-1"),
            legacy_status=exchange.legacy_status,
            new_status=new_status,
            diff=diff,
            trace_id=trace_id_of(exchange.request_headers),
        )


def _mirror_headers(headers: Sequence[tuple[str, str]], request_id: str) -> list[tuple[str, str]]:
    """The request's headers minus hop-by-hop and ``x-strangler-*``, plus the shadow marker, in their
    order.

    ``x-strangler-identity`` is kept: the worker strips the client's own before it signs the session's
    and adds it for the mirror, so the new service answers for the same customer as the legacy."""
    mirrored: list[tuple[str, str]] = []
    has_request_id = False
    for pair in headers:
        lower = pair[0].lower()
        if lower in _NOT_MIRRORED or (lower.startswith(_STRANGLER_PREFIX) and lower != _IDENTITY):
            continue
        if lower == "x-request-id":
            has_request_id = True
        mirrored.append(pair)
    mirrored.append(_SHADOW_MARK)
    if request_id and not has_request_id:
        mirrored.append(("x-request-id", request_id))
    return mirrored
