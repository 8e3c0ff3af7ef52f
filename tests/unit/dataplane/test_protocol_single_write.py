"""The strict protocol's single-write extension: a whole answer leaves in one transport write.

The protocol is driven in-process with a recording transport (no sockets): what matters here is how
many writes uvicorn's framing turns into, which a real socket would hide.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from strangler_proxy.dataplane.protocol import UVICORN_ON_HEADERS_COMPLETE, StrictHttpToolsProtocol
from strangler_proxy.dataplane.single_write import SINGLE_WRITE, WHOLE_BODY

pytestmark = pytest.mark.unit

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n"


class _RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_by_server = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _exchange(app: Any, request: bytes) -> _RecordingTransport:
    config = Config(
        app=app,
        lifespan="off",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=False,
        log_level="warning",
    )
    protocol = StrictHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = _RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(request)
    for _ in range(100):
        if not protocol.tasks:
            break
        await asyncio.wait(set(protocol.tasks), timeout=5)
    assert not protocol.tasks, "the application did not finish"
    transport.closed_by_server = transport.closed
    protocol.connection_lost(None)
    return transport


def _run(app: Any, request: bytes) -> _RecordingTransport:
    return asyncio.run(_exchange(app, request))


def _whole_answer_app(seen: list[dict[str, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
                WHOLE_BODY: b"hello",
            }
        )

    return app


def test_a_whole_answer_is_one_write_and_the_scope_offers_the_extension() -> None:
    seen: list[dict[str, Any]] = []
    transport = _run(_whole_answer_app(seen), b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
    assert SINGLE_WRITE in seen[0]["extensions"]
    assert transport.writes == [HEAD + b"hello"]
    assert not transport.closed_by_server


def test_a_whole_answer_on_a_closing_connection_is_written_then_closed() -> None:
    seen: list[dict[str, Any]] = []
    transport = _run(
        _whole_answer_app(seen), b"GET /x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
    )
    assert transport.writes == [HEAD.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n") + b"hello"]
    assert transport.closed_by_server


def test_a_request_pipelined_behind_a_closing_whole_answer_is_not_served() -> None:
    """The connection closes as the whole answer is written, before uvicorn would start the next
    pipelined request (as it does with two writes)."""
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        headers = [(b"content-length", b"5"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 200, "headers": headers, WHOLE_BODY: b"hello"})

    transport = _run(
        app, b"GET /a HTTP/1.1\r\nHost: shop.test\r\n\r\nGET /b HTTP/1.1\r\nHost: shop.test\r\n\r\n"
    )
    assert seen == ["/a"]
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"]
    assert transport.closed_by_server


def test_a_whole_answer_for_head_sends_the_head_only() -> None:
    transport = _run(_whole_answer_app([]), b"HEAD /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
    assert transport.writes == [HEAD]


def test_the_usual_two_messages_still_work() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
            }
        )
        await send({"type": "http.response.body", "body": b"hello", "more_body": False})

    transport = _run(app, b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
    assert b"".join(transport.writes) == HEAD + b"hello"


def test_a_whole_answer_shorter_than_its_content_length_fails_like_uvicorn() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"9")],
                WHOLE_BODY: b"short",
            }
        )

    transport = _run(app, b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
    # uvicorn's own check raised: what was framed is written, then the connection is closed
    assert transport.closed_by_server
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort"]


def test_the_repeated_uvicorn_code_is_the_installed_one() -> None:
    """``StrictHttpToolsProtocol._start_cycle`` repeats uvicorn's ``on_headers_complete``: when
    uvicorn changes it, this fails, so that the copy is reviewed against the new code."""
    source = inspect.getsource(HttpToolsProtocol.on_headers_complete)
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_ON_HEADERS_COMPLETE
