"""ShadowMirror against real aiohttp servers on loopback: compare, record, never block, bounded, robust."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from multidict import CIMultiDict

from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.dataplane.shadow import (
    DEFAULT_MAX_BODY_BYTES,
    MemoryShadowSink,
    ShadowMirror,
    ShadowOutcome,
)
from strangler_proxy.dataplane.shadow.replay_client import ReplayClient
from strangler_proxy.routes import RouteTable, Rule, RuleAction, RuleMatch, ShadowSettings, Timeouts, Upstream
from tests.support.net import free_port

pytestmark = pytest.mark.integration

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LEGACY_JSON = [(b"content-type", b"application/json")]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 answering every path with ``handler``; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def shadow_table(url: str, **shadow: object) -> RouteTable:
    return RouteTable(
        version=12,
        upstreams={
            "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
            "catalog": Upstream(name="catalog", url=url),
        },
        rules=(
            Rule(
                name="products",
                match=RuleMatch(kind="prefix", path="/api/products"),
                action=RuleAction(mode="shadow", upstream="catalog", shadow=ShadowSettings(**shadow)),
                timeouts=Timeouts(connect_s=1.0, read_s=5.0),
            ),
        ),
    )


def submit(
    mirror: ShadowMirror,
    table: RouteTable,
    *,
    method: str = "GET",
    target: bytes = b"/api/products/1?sort=name",
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    legacy_status: int = 200,
    legacy_body: bytes | None = b'{"id": 1, "name": "Mug"}',
) -> float:
    """Submit one mirror; returns how long ``submit`` itself took (seconds)."""
    headers = headers or [(b"host", b"shop.example"), (b"accept", b"application/json")]
    decision = compile_table(table).decide(method, target.split(b"?")[0].decode(), headers)
    assert decision.shadow_upstream == "catalog"
    started = time.perf_counter()
    mirror.submit(
        decision=decision,
        version=table.version,
        request_id="req-0001",
        method=method,
        raw_target=target,
        request_headers=headers,
        request_body=body,
        legacy_status=legacy_status,
        legacy_headers=LEGACY_JSON,
        legacy_body=legacy_body,
    )
    return time.perf_counter() - started


@asynccontextmanager
async def mirror_for(
    url: str | None, sink: MemoryShadowSink, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> AsyncIterator[ShadowMirror]:
    client = ReplayClient(pool_size=8, max_body_bytes=max_body_bytes)
    mirror = ShadowMirror(client, {"catalog": url}.get if url else {}.get, sink)
    try:
        yield mirror
    finally:
        await mirror.aclose()
        await client.aclose()


def test_equal_answers_are_a_match_and_the_mirror_carries_the_request() -> None:
    seen: list[tuple[str, str, CIMultiDict[str], bytes]] = []

    async def catalog(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, request.headers.copy(), await request.read()))
        return web.json_response({"name": "Mug", "id": 1})

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(catalog) as url, mirror_for(url, sink) as mirror:
            headers = [
                (b"host", b"shop.example"),
                (b"x-strangler-override", b"forged"),
                (b"connection", b"close"),
            ]
            submit(mirror, shadow_table(url), headers=headers)
            await sink.wait_for(1)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MATCH] == 1 and sink.versions == [12]
    assert not sink.samples
    method, path_qs, headers, body = seen[0]
    assert (method, path_qs, body) == ("GET", "/api/products/1?sort=name", b"")
    assert headers["X-Strangler-Shadow"] == "1" and headers["X-Request-Id"] == "req-0001"
    assert headers["Host"] == "shop.example"
    assert "X-Strangler-Override" not in headers and headers.get("Connection") != "close"


def test_the_mirror_sends_the_raw_target_and_header_text_exactly_as_the_client_did() -> None:
    """Percent-encoding is not normalised (``%41`` stays, ``%2f`` keeps its case, a stray ``%zz`` is
    not re-quoted), an existing request id is not replaced, and headers given as text pass as text."""
    seen: list[tuple[str, CIMultiDict[str]]] = []

    async def catalog(request: web.Request) -> web.Response:
        seen.append((request.raw_path, request.headers.copy()))
        return web.json_response({"name": "Mug", "id": 1})

    target = b"/api/products/caf%C3%A9/%41%2fx?q=%7e&bad=%zz&sp=a+b"
    name = "caf\u00e9 \u2713"

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(catalog) as url, mirror_for(url, sink) as mirror:
            headers = [("host", "shop.example"), ("X-Request-ID", "client-id"), ("x-name", name)]
            submit(mirror, shadow_table(url), target=target, headers=headers)  # type: ignore[arg-type]
            await sink.wait_for(1)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MATCH] == 1
    raw_path, headers = seen[0]
    assert raw_path == target.decode()
    assert headers.getall("X-Request-Id") == ["client-id"]
    assert headers["X-Name"] == name  # aiohttp's server reads header bytes as UTF-8


def test_different_answers_are_a_mismatch_with_a_sample() -> None:
    async def catalog(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "name": "Cup"})

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(catalog) as url, mirror_for(url, sink) as mirror:
            submit(mirror, shadow_table(url))
            await sink.wait_for(1)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MISMATCH] == 1
    [sample] = sink.samples["products"]
    assert (sample.method, sample.path, sample.version) == ("GET", "/api/products/1?sort=name", 12)
    assert (sample.legacy_status, sample.new_status, sample.request_id) == (200, 200, "req-0001")
    assert '-  "name": "Mug"' in sample.diff and '+  "name": "Cup"' in sample.diff


def test_volatile_fields_can_be_ignored() -> None:
    async def catalog(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "name": "Mug", "generated_at": time.time()})

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(catalog) as url, mirror_for(url, sink) as mirror:
            submit(mirror, shadow_table(url, ignore_json_paths=("generated_at",)))
            await sink.wait_for(1)
        return sink

    assert asyncio.run(scenario()).counts["products", ShadowOutcome.MATCH] == 1


def test_an_unreachable_or_failing_new_upstream_is_an_error_or_mismatch_never_an_exception() -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        refused = f"http://127.0.0.1:{free_port()}"
        async with mirror_for(refused, sink) as mirror:
            submit(mirror, shadow_table(refused))
            await sink.wait_for(1)
        async with serve(failing) as url, mirror_for(url, sink) as mirror:
            submit(mirror, shadow_table(url))
            await sink.wait_for(2)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.ERROR] == 1
    assert sink.counts["products", ShadowOutcome.MISMATCH] == 1
    error, mismatch = sink.samples["products"]
    assert "failed" in error.diff and error.new_status is None
    assert mismatch.new_status == 500 and "status: legacy 200, new 500" in mismatch.diff


def test_an_unknown_upstream_is_an_error() -> None:
    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with mirror_for(None, sink) as mirror:
            submit(mirror, shadow_table("http://127.0.0.1:9"))
            await sink.wait_for(1)
        return sink

    sink = asyncio.run(scenario())
    assert "unknown" in sink.samples["products"][0].diff


def test_a_slow_new_upstream_never_delays_submit_and_concurrency_is_bounded() -> None:
    release = None

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"id": 1, "name": "Mug"})

    async def scenario() -> tuple[MemoryShadowSink, ShadowMirror, float]:
        nonlocal release
        release = asyncio.Event()
        sink = MemoryShadowSink()
        async with serve(slow) as url, mirror_for(url, sink) as mirror:
            table = shadow_table(url, max_concurrency=2)
            elapsed = max(submit(mirror, table) for _ in range(5))
            assert mirror.in_flight("products") == 2
            assert mirror.dropped["products"] == 3
            release.set()
            await sink.wait_for(2)
            assert mirror.in_flight() == 0
            submit(mirror, table)  # room again once the first two finished
            await sink.wait_for(3)
        return sink, mirror, elapsed

    sink, mirror, elapsed = asyncio.run(scenario())
    assert elapsed < 0.02, f"submit blocked for {elapsed:.3f}s"
    assert sink.counts["products", ShadowOutcome.MATCH] == 3
    assert mirror.submitted == 3 and mirror.dropped["products"] == 3


def test_a_new_upstream_slower_than_the_read_timeout_is_an_error() -> None:
    async def hangs(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    def table(url: str) -> RouteTable:
        base = shadow_table(url)
        rule = base.rules[0].model_copy(update={"timeouts": Timeouts(connect_s=1.0, read_s=0.2)})
        return base.model_copy(update={"rules": (rule,)})

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(hangs) as url, mirror_for(url, sink) as mirror:
            submit(mirror, table(url))
            await sink.wait_for(1, timeout=10)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.ERROR] == 1
    assert "read timeout" in sink.samples["products"][0].diff


def test_unsafe_methods_are_mirrored_with_their_body_and_the_shadow_marker() -> None:
    seen: list[tuple[str, bytes, str | None]] = []

    async def catalog(request: web.Request) -> web.Response:
        seen.append((request.method, await request.read(), request.headers.get("x-strangler-shadow")))
        return web.json_response({"id": 1, "name": "Mug"}, status=201)

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(catalog) as url, mirror_for(url, sink) as mirror:
            body = json.dumps({"name": "Mug"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            submit(
                mirror,
                shadow_table(url, mirror_unsafe_methods=True),
                method="POST",
                target=b"/api/products",
                body=body,
                headers=headers,
                legacy_status=201,
            )
            await sink.wait_for(1)
        return sink

    sink = asyncio.run(scenario())
    assert seen == [("POST", b'{"name": "Mug"}', "1")]
    assert sink.counts["products", ShadowOutcome.MATCH] == 1


def test_a_new_body_larger_than_the_limit_is_compared_without_body() -> None:
    async def big(request: web.Request) -> web.Response:
        return web.json_response({"blob": "x" * 5000})

    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with serve(big) as url, mirror_for(url, sink, max_body_bytes=1000) as mirror:
            submit(mirror, shadow_table(url))
            await sink.wait_for(1)
        return sink

    assert asyncio.run(scenario()).counts["products", ShadowOutcome.MATCH] == 1


def test_aclose_cancels_mirrors_in_flight_and_refuses_new_ones() -> None:
    async def hangs(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    async def scenario() -> tuple[MemoryShadowSink, ShadowMirror, float]:
        sink = MemoryShadowSink()
        async with serve(hangs) as url:
            client = ReplayClient(pool_size=8, max_body_bytes=DEFAULT_MAX_BODY_BYTES)
            mirror = ShadowMirror(client, {"catalog": url}.get, sink)
            submit(mirror, shadow_table(url))
            await asyncio.sleep(0)  # let the task start its request
            started = time.perf_counter()
            await mirror.aclose()
            closed_in = time.perf_counter() - started
            submit(mirror, shadow_table(url))
            assert mirror.in_flight() == 0
            await client.aclose()
        return sink, mirror, closed_in

    sink, mirror, closed_in = asyncio.run(scenario())
    assert closed_in < 2 and sink.total == 0 and mirror.submitted == 1
