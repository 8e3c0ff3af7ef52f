"""A worker's graceful shutdown drains idle kept-alive connections instead of cutting them off.

The race it closes: a client sends its next request on a kept-alive connection at the moment the
worker begins to shut down. uvicorn closed the idle connection at once, so the request (already sent)
got no answer. Driven over a real loopback socket in-process, with the server's protocol at hand, so
that the shutdown can be made to begin exactly between two requests of one connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from strangler_proxy.dataplane.protocol import StrictHttpToolsProtocol

pytestmark = pytest.mark.unit

REQUEST = b"GET /%s HTTP/1.1\r\nHost: shop.test\r\n\r\n"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = scope["path"].encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


class _Server:
    """One listening socket on loopback serving ``app`` with the data plane's protocol."""

    def __init__(self, app: App, drain_s: float) -> None:
        self.config = Config(app=app, lifespan="off", access_log=False, log_level="warning")
        self.state = ServerState()
        self.drain_s = drain_s
        self.protocols: list[StrictHttpToolsProtocol] = []

    def _protocol(self) -> StrictHttpToolsProtocol:
        protocol = StrictHttpToolsProtocol(
            config=self.config, server_state=self.state, app_state={}, drain_s=self.drain_s
        )
        self.protocols.append(protocol)
        return protocol

    async def __aenter__(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.server = await asyncio.get_running_loop().create_server(self._protocol, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        return self.reader, self.writer

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()
        self.server.close()
        await self.server.wait_closed()

    def shutdown(self) -> None:
        """What uvicorn's server does to every connection when a worker is asked to stop."""
        for connection in list(self.state.connections):
            connection.shutdown()


async def _answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    return head, await asyncio.wait_for(reader.readexactly(length), timeout=5)


async def _first_answer_then_shutdown(server: _Server, reader: Any, writer: Any) -> None:
    writer.write(REQUEST % b"first")
    head, body = await _answer(reader)
    assert body == b"/first" and b"connection: close" not in head.lower()
    assert server.protocols[0].cycle is not None and server.protocols[0].cycle.response_complete


def test_a_request_sent_as_the_shutdown_begins_is_answered_and_then_the_connection_closes() -> None:
    async def scenario() -> None:
        server = _Server(_hello, drain_s=5.0)
        async with server as (reader, writer):
            await _first_answer_then_shutdown(server, reader, writer)
            server.shutdown()  # the worker begins to stop while the connection is idle ...
            writer.write(REQUEST % b"second")  # ... and the client's next request is on its way
            head, body = await _answer(reader)
            assert body == b"/second"
            assert b"connection: close" in head.lower(), "the client must not reuse the connection"
            assert await asyncio.wait_for(reader.read(), timeout=5) == b"", "the server closes it after"

    asyncio.run(scenario())


def test_a_connection_still_idle_at_the_end_of_the_drain_is_closed() -> None:
    async def scenario() -> None:
        server = _Server(_hello, drain_s=0.05)
        async with server as (reader, writer):
            await _first_answer_then_shutdown(server, reader, writer)
            server.shutdown()
            assert not server.protocols[0].transport.is_closing(), "an idle connection drains first"
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""
            assert not server.state.connections, "uvicorn's shutdown waits for this set to empty"

    asyncio.run(scenario())


def test_a_request_in_progress_at_shutdown_is_answered_with_connection_close() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        started = asyncio.Event()

        async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
            started.set()
            await release.wait()
            await _hello(scope, receive, send)

        server = _Server(slow, drain_s=5.0)
        async with server as (reader, writer):
            writer.write(REQUEST % b"slow")
            await asyncio.wait_for(started.wait(), timeout=5)
            server.shutdown()
            release.set()
            head, body = await _answer(reader)
            assert body == b"/slow" and b"connection: close" in head.lower()
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""

    asyncio.run(scenario())
