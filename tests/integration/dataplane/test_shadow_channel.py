"""The worker-to-shadow-process channel: a real Unix socket, the real service and mirror, a real
upstream over loopback. Shadowed exchanges cross the socket, are replayed against the URL of the
version the request started with, and a worker never waits: without a shadow process or with a full
backlog, exchanges are dropped and counted."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.dataplane.shadow import MemoryShadowSink, ShadowOutcome
from strangler_proxy.dataplane.shadow.channel import ShadowClient, Submission, encode_frame
from strangler_proxy.dataplane.shadow.service import ShadowService
from strangler_proxy.routes import RouteTable
from tests.integration.dataplane.test_shadow_mirror import LEGACY_JSON, serve, shadow_table

pytestmark = pytest.mark.integration

HEADERS = [(b"host", b"shop.example"), (b"accept", b"application/json")]


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A short path (Unix socket paths are limited to about 100 bytes), unique per test."""
    folder = Path(tempfile.mkdtemp(prefix="sf-shadow-"))
    yield folder / "shadow.sock"
    shutil.rmtree(folder, ignore_errors=True)


def _submit(client: ShadowClient, table: RouteTable, upstream_url: str | None) -> None:
    decision = compile_table(table).decide("GET", "/api/products/1", HEADERS)
    client.submit(
        decision=decision,
        version=table.version,
        request_id="req-0001",
        method="GET",
        raw_target=b"/api/products/1?sort=name",
        request_headers=HEADERS,
        request_body=b"",
        legacy_status=200,
        legacy_headers=LEGACY_JSON,
        legacy_body=b'{"id": 1, "name": "Mug"}',
        upstream_url=upstream_url,
    )


@asynccontextmanager
async def shadow_service(path: Path, sink: MemoryShadowSink) -> AsyncIterator[ShadowService]:
    service = ShadowService(path, sink)
    await service.start()
    try:
        yield service
    finally:
        await service.aclose()


async def _catalog(request: web.Request) -> web.Response:
    return web.json_response({"name": "Mug", "id": 1})


def test_exchanges_cross_the_socket_and_are_compared_against_the_url_sent_with_them(
    socket_path: Path,
) -> None:
    async def scenario() -> tuple[MemoryShadowSink, ShadowClient, ShadowService]:
        sink = MemoryShadowSink()
        async with serve(_catalog) as url, shadow_service(socket_path, sink) as service:
            client = ShadowClient(socket_path)
            client.start()
            assert await client.wait_connected(5.0)
            # The service knows no upstream by name (as after a rollback removed it): the URL of the
            # version the request started with is what the mirror uses.
            for _ in range(3):
                _submit(client, shadow_table(url), url)
            await sink.wait_for(3)
            await client.aclose()
        return sink, client, service

    sink, client, service = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MATCH] == 3 and sink.versions == [12, 12, 12]
    assert client.submitted == 3 and not client.dropped and service.received == 3


def test_a_malformed_exchange_is_refused_and_the_rest_of_its_frame_is_mirrored(socket_path: Path) -> None:
    async def scenario() -> tuple[MemoryShadowSink, ShadowService]:
        sink = MemoryShadowSink()
        async with serve(_catalog) as url, shadow_service(socket_path, sink) as service:
            good = Submission(
                shadow_table(url).rules[0].model_dump_json().encode(),
                "products",
                "catalog",
                url,
                12,
                "req-0001",
                "GET",
                b"/api/products/1",
                [("host", "shop.example")],
                b"",
                200,
                LEGACY_JSON,
                b'{"id": 1, "name": "Mug"}',
            )
            malformed = tuple(good)[:12]
            _, writer = await asyncio.open_unix_connection(str(socket_path))
            writer.write(encode_frame([good, malformed, good._replace(request_id="req-0002")]))
            await writer.drain()
            await sink.wait_for(2)
            writer.close()
        return sink, service

    sink, service = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MATCH] == 2
    assert service.received == 2 and service.refused == 1


def test_an_unreachable_new_upstream_is_an_error_naming_it_not_an_unknown_upstream(socket_path: Path) -> None:
    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        async with shadow_service(socket_path, sink):
            client = ShadowClient(socket_path)
            client.start()
            assert await client.wait_connected(5.0)
            _submit(client, shadow_table("http://127.0.0.1:9"), "http://127.0.0.1:9")
            await sink.wait_for(1)
            await client.aclose()
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.ERROR] == 1
    (sample,) = sink.samples["products"]
    assert "new upstream 'catalog' failed" in sample.diff and "unknown" not in sample.diff


def test_without_a_shadow_process_exchanges_are_dropped_and_counted_at_once(socket_path: Path) -> None:
    async def scenario() -> ShadowClient:
        client = ShadowClient(socket_path)
        client.start()
        assert not await client.wait_connected(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(100):
            _submit(client, shadow_table("http://127.0.0.1:9"), "http://127.0.0.1:9")
        assert loop.time() - started < 0.5
        await client.aclose()
        return client

    client = asyncio.run(scenario())
    assert client.dropped["disconnected"] == 100 and client.submitted == 0


def test_a_full_backlog_drops_new_exchanges_instead_of_waiting(socket_path: Path) -> None:
    async def scenario() -> tuple[ShadowClient, MemoryShadowSink]:
        sink = MemoryShadowSink()
        async with serve(_catalog) as url, shadow_service(socket_path, sink):
            client = ShadowClient(socket_path, max_buffer_bytes=0)
            client.start()
            assert await client.wait_connected(5.0)
            for _ in range(5):  # within one batch: the first is kept, the others exceed the backlog
                _submit(client, shadow_table(url), url)
            await sink.wait_for(1)
            await client.aclose()
        return client, sink

    client, sink = asyncio.run(scenario())
    assert client.submitted == 1 and client.dropped["backlog"] == 4
    assert sink.total == 1


def test_the_client_reconnects_when_the_shadow_process_comes_back(socket_path: Path) -> None:
    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink()
        client = ShadowClient(socket_path)
        client.start()
        async with serve(_catalog) as url:
            async with shadow_service(socket_path, MemoryShadowSink()):
                assert await client.wait_connected(5.0)
            async with shadow_service(socket_path, sink):  # restarted: same path, new listener
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while sink.total == 0:
                    assert loop.time() < deadline, "never reconnected"
                    if client.connected:
                        _submit(client, shadow_table(url), url)
                    await asyncio.sleep(0.05)
        await client.aclose()
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MATCH] >= 1
