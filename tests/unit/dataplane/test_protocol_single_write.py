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
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from strangler_proxy.dataplane.protocol import (
    UVICORN_DATA_RECEIVED,
    UVICORN_MIRRORED_VERSION,
    UVICORN_ON_HEADERS_COMPLETE,
    UVICORN_SEND,
    StrictHttpToolsProtocol,
)
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


async def _exchange(app: Any, request: bytes, *, paused: bool = False) -> _RecordingTransport:
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
    if paused:  # the client is not reading: its socket's buffer is full until the loop's next turn
        protocol.pause_writing()
    protocol.data_received(request)
    if paused:
        asyncio.get_running_loop().call_soon(protocol.resume_writing)
    for _ in range(100):
        if not protocol.tasks:
            break
        await asyncio.wait(set(protocol.tasks), timeout=5)
    assert not protocol.tasks, "the application did not finish"
    transport.closed_by_server = transport.closed
    protocol.connection_lost(None)
    return transport


def _run(app: Any, request: bytes, *, paused: bool = False) -> _RecordingTransport:
    return asyncio.run(_exchange(app, request, paused=paused))


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


@pytest.mark.parametrize("status", [200, 304])
def test_a_whole_answer_to_a_client_that_is_not_reading_waits_then_is_one_write(status: int) -> None:
    """On a paused socket the answer waits for the client as uvicorn's send does, and is then framed
    the same way: a 304 keeps the Content-Length the 200 would have (RFC 9110 section 8.6)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"etag", b'"v1"'), (b"content-length", b"5")]
        body = b"hello" if status == 200 else b""
        await send({"type": "http.response.start", "status": status, "headers": headers, WHOLE_BODY: body})

    transport = _run(app, b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n", paused=True)
    reason = b"OK" if status == 200 else b"Not Modified"
    head = b'HTTP/1.1 %d %s\r\netag: "v1"\r\ncontent-length: 5\r\n\r\n' % (status, reason)
    assert transport.writes == [head + (b"hello" if status == 200 else b"")]
    assert not transport.closed_by_server  # the connection stays usable for the next request


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


def _answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers, WHOLE_BODY: body})

    return app


_SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


@pytest.mark.parametrize("body", [b"short", b"longer than nine"], ids=["shorter", "longer"])
def test_a_whole_answer_at_odds_with_its_content_length_is_a_500_and_none_of_it_is_written(body) -> None:
    transport = _run(
        _answer(200, [(b"content-length", b"9")], body), b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n"
    )
    assert b"".join(transport.writes) == _SERVER_ERROR
    assert transport.closed_by_server


@pytest.mark.parametrize(
    "header",
    [(b"x-injected", b"a\r\nset-cookie: evil=1"), (b"bad name", b"1")],
    ids=["value with CRLF", "name with a space"],
)
def test_a_whole_answer_with_a_header_uvicorn_would_refuse_is_a_500(header) -> None:
    headers = [(b"content-length", b"5"), header]
    transport = _run(_answer(200, headers, b"hello"), b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
    assert b"".join(transport.writes) == _SERVER_ERROR


def test_a_whole_answer_is_framed_like_uvicorns_two_messages() -> None:
    """Mixed-case names, a Connection: close of the application's, a 204 and a 404: the one write
    holds exactly the bytes uvicorn's two messages would have written."""
    cases = [
        (
            200,
            [(b"Content-Type", b"text/plain"), (b"Content-Length", b"5"), (b"Set-Cookie", b"a=1")],
            b"hello",
        ),
        (200, [(b"content-length", b"5"), (b"connection", b"Keep-Alive, Close")], b"hello"),
        (204, [(b"content-length", b"0")], b""),
        (404, [(b"content-length", b"2"), (b"x-a", b"1"), (b"x-a", b"2")], b"no"),
    ]
    for status, headers, body in cases:

        async def two_messages(
            scope: dict[str, Any], receive: Any, send: Any, status=status, headers=headers, body=body
        ) -> None:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        for request in (b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n", b"GET /x HTTP/1.0\r\nHost: x\r\n\r\n"):
            whole = _run(_answer(status, headers, body), request)
            usual = _run(two_messages, request)
            assert whole.writes == [b"".join(usual.writes)], (status, headers, request)
            assert whole.closed_by_server == usual.closed_by_server


def test_a_whole_answer_without_content_length_falls_back_to_uvicorns_chunked_framing() -> None:
    transport = _run(
        _answer(200, [(b"content-type", b"text/plain")], b"hello"),
        b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n",
    )
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    ]


def test_the_repeated_uvicorn_code_is_the_installed_one() -> None:
    """``StrictHttpToolsProtocol._start_cycle`` repeats uvicorn's ``on_headers_complete``: when
    uvicorn changes it, this fails, so that the copy is reviewed against the new code."""
    source = inspect.getsource(HttpToolsProtocol.on_headers_complete)
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_ON_HEADERS_COMPLETE, (
        f"uvicorn {uvicorn.__version__} changed HttpToolsProtocol.on_headers_complete "
        f"(uvicorn/protocols/http/httptools_impl.py) since {UVICORN_MIRRORED_VERSION}, the release "
        "StrictHttpToolsProtocol._start_cycle repeats: re-read how it fills the scope (method, HTTP "
        "version, path, raw_path, query string), hands an upgrade over, applies limit_concurrency, "
        "and creates and runs the cycle (or queues it behind a pipelined one); bring _start_cycle in "
        "strangler_proxy/dataplane/protocol.py in line, then update UVICORN_MIRRORED_VERSION and "
        "UVICORN_ON_HEADERS_COMPLETE"
    )


def test_the_repeated_uvicorn_framing_is_the_installed_one() -> None:
    """``SingleWriteCycle._send_whole`` repeats the framing of uvicorn's ``RequestResponseCycle.send``
    (checked byte for byte above): when uvicorn changes it, this fails, so that the copy is reviewed."""
    source = inspect.getsource(RequestResponseCycle.send)
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_SEND, (
        f"uvicorn {uvicorn.__version__} changed RequestResponseCycle.send "
        f"(uvicorn/protocols/http/httptools_impl.py) since {UVICORN_MIRRORED_VERSION}, the release "
        "SingleWriteCycle._send_whole repeats: re-read how it validates and writes the status line and "
        "headers (Content-Length, Connection: close, keep-alive, HEAD and no-content answers) and the "
        "body; bring _send_whole in strangler_proxy/dataplane/single_write_cycle.py in line, then update "
        "UVICORN_MIRRORED_VERSION and UVICORN_SEND"
    )


def test_the_repeated_uvicorn_input_handling_is_the_installed_one() -> None:
    """``StrictHttpToolsProtocol.data_received`` repeats uvicorn's (to keep llhttp's reason for a
    refused message): when uvicorn changes it, this fails, so that the copy is reviewed."""
    source = inspect.getsource(HttpToolsProtocol.data_received)
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_DATA_RECEIVED, (
        f"uvicorn {uvicorn.__version__} changed HttpToolsProtocol.data_received "
        f"(uvicorn/protocols/http/httptools_impl.py) since {UVICORN_MIRRORED_VERSION}, the release "
        "StrictHttpToolsProtocol.data_received repeats: bring it in line, then update "
        "UVICORN_MIRRORED_VERSION and UVICORN_DATA_RECEIVED"
    )
