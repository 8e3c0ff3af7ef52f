"""Mirror a request the legacy already answered to the new upstream, in the background, and compare.

The primary path only calls :meth:`ShadowMirror.submit`, which never blocks and never raises: it
schedules a task, or drops the mirror (and counts it) when the rule's ``max_concurrency`` mirrors
are already in flight. The task replays the request (with ``x-strangler-shadow: 1``, so a service
rolls back what an unsafe method would change), reads at most ``max_body_bytes`` of the answer,
compares it with the legacy's and hands the outcome to the sink.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from strangler_proxy.dataplane.routing.decision import Decision
from strangler_proxy.dataplane.shadow.compare import ResponseSnapshot, compare_responses
from strangler_proxy.dataplane.shadow.records import ShadowOutcome, ShadowSample, ShadowSink
from strangler_proxy.dataplane.upstream_request import ClientTimeouts, UpstreamClient
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
_SHADOW_MARK = (SHADOW_HEADER, "1")


class ShadowMirror:
    """One per shadow process, created at startup (in its event loop) with the process's aiohttp
    session; mirrors go through :class:`UpstreamClient` over that session's pool."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        upstream_urls: Callable[[str], str | None],
        sink: ShadowSink,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._upstream = UpstreamClient(session)
        self._upstream_urls = upstream_urls
        self._sink = sink
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeouts = ClientTimeouts()
        self._in_flight: Counter[str] = Counter()
        self._closed = False
        self.submitted = 0
        self.dropped: Counter[str] = Counter()
        """Mirrors dropped per route because ``max_concurrency`` were in flight."""

    def in_flight(self, route: str | None = None) -> int:
        return self._in_flight[route] if route is not None else sum(self._in_flight.values())

    def submit(
        self,
        *,
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
        """Schedule the mirror of one request; returns at once and never raises.

        ``upstream_url`` is the shadow upstream's base URL in the route-table version the request
        started with; when None it is looked up by name at the time of the replay."""
        try:
            rule, upstream, route = decision.rule, decision.shadow_upstream, decision.route
            if rule is None or upstream is None or self._closed:
                return
            if self._in_flight[route] >= rule.action.shadow.max_concurrency:
                self.dropped[route] += 1
                return
            legacy = ResponseSnapshot(legacy_status, legacy_headers, legacy_body)
            job = _Job(
                rule,
                route,
                upstream,
                upstream_url,
                version,
                request_id,
                method,
                raw_target,
                request_headers,
                request_body,
            )
            task = asyncio.get_running_loop().create_task(self._run(job, legacy))
        except Exception:
            logger.exception("shadow mirror of %s %r not scheduled", method, raw_target)
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

    async def _run(self, job: _Job, legacy: ResponseSnapshot) -> None:
        try:
            outcome, sample = await self._mirror_and_compare(job, legacy)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("shadow mirror of %s %r failed", job.method, job.raw_target)
            outcome, sample = ShadowOutcome.ERROR, self._sample(job, legacy, None, f"mirror failed: {exc!r}")
        finally:
            self._in_flight[job.route] -= 1
        try:
            self._sink.record(job.route, job.version, outcome, sample)
        except Exception:
            logger.exception("shadow sink refused the outcome of route %r", job.route)

    async def _mirror_and_compare(
        self, job: _Job, legacy: ResponseSnapshot
    ) -> tuple[ShadowOutcome, ShadowSample | None]:
        base = job.upstream_url or self._upstream_urls(job.upstream)
        if base is None:
            return ShadowOutcome.ERROR, self._sample(
                job, legacy, None, f"upstream {job.upstream!r} is unknown"
            )
        try:
            new = await self._replay(base.rstrip("/") + job.raw_target.decode("latin-1"), job)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"new upstream {job.upstream!r} failed: {type(exc).__name__}: {exc}"
            return ShadowOutcome.ERROR, self._sample(job, legacy, None, reason)
        comparison = compare_responses(job.rule.action.shadow, legacy, new)
        if comparison.equal:
            return ShadowOutcome.MATCH, None
        return ShadowOutcome.MISMATCH, self._sample(job, legacy, new.status, comparison.diff)

    async def _replay(self, url: str, job: _Job) -> ResponseSnapshot:
        response = await self._upstream.send(
            job.method,
            URL(url, encoded=True),  # the client's raw target as the worker forwarded it
            _mirror_headers(job.request_headers, job.request_id),
            job.request_body or None,
            self._timeouts.get(job.rule.timeouts),
        )
        try:
            body = await _read_at_most(response, self._max_body_bytes)
            return ResponseSnapshot(response.status, list(response.raw_headers), body)
        finally:
            response.release()

    def _sample(self, job: _Job, legacy: ResponseSnapshot, new_status: int | None, diff: str) -> ShadowSample:
        return ShadowSample(
            at=self._clock(),
            route=job.route,
            version=job.version,
            request_id=job.request_id,
            method=job.method,
            path=job.raw_target.decode("latin-1"),
            legacy_status=legacy.status,
            new_status=new_status,
            diff=diff,
        )


class _Job:
    __slots__ = (
        "method",
        "raw_target",
        "request_body",
        "request_headers",
        "request_id",
        "route",
        "rule",
        "upstream",
        "upstream_url",
        "version",
    )

    def __init__(
        self,
        rule: Rule,
        route: str,
        upstream: str,
        upstream_url: str | None,
        version: int,
        request_id: str,
        method: str,
        raw_target: bytes,
        request_headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
        request_body: bytes,
    ) -> None:
        self.rule = rule
        self.route = route
        self.upstream = upstream
        self.upstream_url = upstream_url
        self.version = version
        self.request_id = request_id
        self.method = method
        self.raw_target = raw_target
        self.request_headers = request_headers
        self.request_body = request_body


def _mirror_headers(
    headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]], request_id: str
) -> list[tuple[str, str]]:
    """The request's headers (text, or UTF-8 bytes) minus hop-by-hop and client ``x-strangler-*``,
    plus the shadow marker, as text pairs in their order (aiohttp builds its multidict from the list
    in one call, and writes text as UTF-8)."""
    mirrored: list[tuple[str, str]] = []
    has_request_id = False
    for raw_name, raw_value in headers:
        name = raw_name if isinstance(raw_name, str) else raw_name.decode("utf-8")
        lower = name.lower()
        if lower in _NOT_MIRRORED or lower.startswith(_STRANGLER_PREFIX):
            continue
        if lower == "x-request-id":
            has_request_id = True
        mirrored.append((name, raw_value if isinstance(raw_value, str) else raw_value.decode("utf-8")))
    mirrored.append(_SHADOW_MARK)
    if request_id and not has_request_id:
        mirrored.append(("x-request-id", request_id))
    return mirrored


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None (stop reading) once it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
