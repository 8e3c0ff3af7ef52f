"""The shadow process's HTTP/1.1 client against scripted servers on loopback: what it sends byte for
byte, every framing of an answer, keep-alive and its limits, timeouts and failures."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from strangler_proxy.dataplane.shadow.replay_client import Origin, ReplayAnswer, ReplayClient, ReplayFailed
from tests.support.waiting import until

pytestmark = pytest.mark.integration

Answer = Callable[["Exchange", asyncio.StreamWriter], Awaitable[bool]]
"""Writes the answer to one request; returns False to close the connection afterwards."""


@dataclass
class Exchange:
    connection: int
    head: bytes
    body: bytes

    @property
    def request_line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    @property
    def header_lines(self) -> list[bytes]:
        return self.head.split(b"\r\n")[1:]


@dataclass
class Scripted:
    """A server that reads requests (Content-Length bodies) and answers each with ``answer``."""

    answer: Answer
    port: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed_by_client += 1
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                exchange = Exchange(number, head[:-4], body)
                self.exchanges.append(exchange)
                if not await self.answer(exchange, writer):
                    return
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()


@asynccontextmanager
async def scripted(answer: Answer, tls: ssl.SSLContext | None = None) -> AsyncIterator[Scripted]:
    server = Scripted(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def fixed(raw: bytes, *, keep: bool = True) -> Answer:
    async def answer(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        return keep

    return answer


JSON_OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    b'Content-Length: 11\r\n\r\n{"id": 42}\n'
)


def client(**options: int) -> ReplayClient:
    return ReplayClient(pool_size=options.get("pool_size", 4), max_body_bytes=options.get("max_body", 1000))


async def get(
    replay: ReplayClient,
    port: int,
    *,
    method: str = "GET",
    target: bytes = b"/api/products/42",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    read_s: float = 5.0,
    scheme: str = "http",
) -> ReplayAnswer:
    origin = replay.origin(f"{scheme}://127.0.0.1:{port}")
    return await replay.request(origin, method, target, headers or [], body, connect_s=2.0, read_s=read_s)


def run(scenario: Callable[[], Awaitable[object]]) -> object:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def test_it_sends_exactly_the_given_headers_and_the_raw_target_and_reads_raw_headers_in_order() -> None:
    async def scenario() -> tuple[ReplayAnswer, Scripted]:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            headers = [("Host", "shop.example"), ("X-Name", "caf\u00e9"), ("Cookie", "sessionid=abc")]
            answer = await get(replay, server.port, target=b"/a%2fb/%41?q=%zz&x", headers=headers)
            await replay.aclose()
            return answer, server

    answer, server = run(scenario)  # type: ignore[misc]
    assert answer.status == 200 and answer.body == b'{"id": 42}\n'
    assert answer.headers == [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
        (b"Content-Length", b"11"),
    ]
    [exchange] = server.exchanges
    assert exchange.request_line == b"GET /a%2fb/%41?q=%zz&x HTTP/1.1"
    # nothing of the client's own: no User-Agent, Accept, Accept-Encoding, Content-Length on a GET
    assert exchange.header_lines == [
        b"Host: shop.example",
        "X-Name: caf\u00e9".encode(),
        b"Cookie: sessionid=abc",
    ]


def test_host_is_added_from_the_origin_when_absent_and_the_base_path_prefixes_the_target() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            origin = replay.origin(f"http://127.0.0.1:{server.port}/catalog/")
            await replay.request(origin, "GET", b"/items?x=1", [], b"", connect_s=2.0, read_s=5.0)
            await replay.aclose()
            return server

    server = run(scenario)
    [exchange] = server.exchanges  # type: ignore[attr-defined]
    assert exchange.request_line == b"GET /catalog/items?x=1 HTTP/1.1"
    assert exchange.header_lines == [f"host: 127.0.0.1:{server.port}".encode()]  # type: ignore[attr-defined]


def test_a_body_goes_with_its_content_length_and_a_post_without_body_says_zero() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            await get(replay, server.port, method="POST", body=b'{"name": "Mug"}')
            await get(replay, server.port, method="POST")
            await replay.aclose()
            return server

    server = run(scenario)
    first, second = server.exchanges  # type: ignore[attr-defined]
    assert first.body == b'{"name": "Mug"}' and b"content-length: 15" in first.header_lines
    assert second.body == b"" and b"content-length: 0" in second.header_lines


def test_keep_alive_reuses_one_connection_and_connection_close_is_honoured() -> None:
    async def scenario() -> tuple[Scripted, Scripted]:
        async with (
            scripted(fixed(JSON_OK)) as kept,
            scripted(
                fixed(JSON_OK.replace(b"200 OK\r\n", b"200 OK\r\nConnection: close\r\n"), keep=False)
            ) as closing,
        ):
            replay = client()
            for _ in range(3):
                assert (await get(replay, kept.port)).status == 200
                assert (await get(replay, closing.port)).status == 200
            await replay.aclose()
            return kept, closing

    kept, closing = run(scenario)  # type: ignore[misc]
    assert kept.connections == 1 and len(kept.exchanges) == 3
    assert closing.connections == 3


def test_chunked_and_close_delimited_bodies_are_read_whole() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    until_close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it until the end"

    async def scenario() -> tuple[ReplayAnswer, ReplayAnswer, int]:
        async with scripted(fixed(chunked)) as a, scripted(fixed(until_close, keep=False)) as b:
            replay = client()
            first = await get(replay, a.port)
            second = await get(replay, b.port)
            again = await get(replay, a.port)
            assert again.body == b"hello world"
            await replay.aclose()
            return first, second, a.connections

    first, second, connections = run(scenario)  # type: ignore[misc]
    assert first.body == b"hello world"
    assert second.body == b"all of it until the end"
    assert connections == 1  # the chunked answer left the connection reusable


def test_head_204_and_304_answers_have_no_body_and_keep_the_connection() -> None:
    async def answer(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        path = exchange.request_line.split(b" ")[1]
        if exchange.request_line.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
        elif path == b"/204":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == b"/304":
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')
        else:
            writer.write(JSON_OK)
        return True

    async def scenario() -> tuple[list[ReplayAnswer], Scripted]:
        async with scripted(answer) as server:
            replay = client()
            answers = [
                await get(replay, server.port, method="HEAD"),
                await get(replay, server.port, target=b"/204"),
                await get(replay, server.port, target=b"/304"),
                await get(replay, server.port),
            ]
            await replay.aclose()
            return answers, server

    answers, server = run(scenario)  # type: ignore[misc]
    assert [(a.status, a.body) for a in answers] == [
        (200, b""),
        (204, b""),
        (304, b""),
        (200, b'{"id": 42}\n'),
    ]
    assert answers[0].headers == [(b"Content-Length", b"5000")]
    assert server.connections == 1


def test_an_interim_answer_is_skipped_for_the_final_one() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n" + JSON_OK

    async def scenario() -> ReplayAnswer:
        async with scripted(fixed(early)) as server:
            replay = client()
            answer = await get(replay, server.port)
            await replay.aclose()
            return answer

    answer = run(scenario)
    assert answer.status == 200 and answer.body == b'{"id": 42}\n'  # type: ignore[attr-defined]
    assert (b"Link", b"</app.css>; rel=preload") not in answer.headers  # type: ignore[attr-defined]


def test_a_body_over_the_limit_is_none_and_its_connection_is_not_reused() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000

    async def scenario() -> tuple[ReplayAnswer, ReplayAnswer, int]:
        async with scripted(fixed(big)) as server:
            replay = client(max_body=1000)
            first = await get(replay, server.port)
            second = await get(replay, server.port)
            await replay.aclose()
            return first, second, server.connections

    first, second, connections = run(scenario)  # type: ignore[misc]
    assert first.status == 200 and first.body is None and second.body is None
    assert connections == 2


def test_the_read_timeout_is_between_bytes_not_for_the_whole_answer() -> None:
    async def silent(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def dripping(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"steady":
            await writer.drain()
            await asyncio.sleep(0.1)  # 0.6 s in all, never 0.3 s without a byte
            writer.write(bytes([byte]))
        return True

    async def scenario() -> tuple[str, ReplayAnswer]:
        async with scripted(silent) as quiet, scripted(dripping) as drip:
            replay = client()
            with pytest.raises(ReplayFailed) as failed:
                await get(replay, quiet.port, read_s=0.3)
            answer = await get(replay, drip.port, read_s=0.3)
            await replay.aclose()
            return str(failed.value), answer

    message, answer = run(scenario)  # type: ignore[misc]
    assert "read timeout" in message and "0.3 s" in message and "http://127.0.0.1:" in message
    assert answer.body == b"steady"


def test_connection_failures_and_broken_answers_are_replay_failures_that_say_what_happened() -> None:
    async def cut(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        return False

    async def garbage(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        return True

    async def scenario() -> list[str]:
        refused = ReplayClient(pool_size=1, max_body_bytes=10)
        closed_port = await _closed_port()
        messages = []
        with pytest.raises(ReplayFailed) as failed:
            await get(refused, closed_port)
        messages.append(str(failed.value))
        async with scripted(cut) as short, scripted(garbage) as bad:
            replay = client()
            for port in (short.port, bad.port):
                with pytest.raises(ReplayFailed) as failed:
                    await get(replay, port)
                messages.append(str(failed.value))
            await replay.aclose()
        return messages

    refused, cut_short, malformed = run(scenario)  # type: ignore[misc]
    assert refused.startswith("could not connect to http://127.0.0.1:")
    assert "closed before the answer was complete" in cut_short
    assert "malformed answer" in malformed


async def _closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


def test_a_pooled_connection_closed_by_the_upstream_is_retried_only_for_idempotent_methods() -> None:
    """The server drops every second request on a connection unanswered (as an upstream closing an
    idle connection just as the request arrives): a GET is sent again on a new connection, a POST is
    not sent again."""
    server: Scripted

    async def answer(exchange: Exchange, writer: asyncio.StreamWriter) -> bool:
        on_this_connection = [e for e in server.exchanges if e.connection == exchange.connection]
        if len(on_this_connection) == 2:
            return False  # closed without an answer
        writer.write(JSON_OK)
        return True

    async def scenario() -> tuple[list[int], str]:
        nonlocal server
        async with scripted(answer) as server:
            replay = client()
            statuses = [(await get(replay, server.port)).status for _ in range(2)]
            with pytest.raises(ReplayFailed) as failed:
                await get(replay, server.port, method="POST", body=b"x")
            await replay.aclose()
            return statuses, str(failed.value)

    statuses, message = run(scenario)  # type: ignore[misc]
    assert statuses == [200, 200]
    assert "POST is not idempotent, so it is not sent again" in message
    sent = [(e.connection, e.request_line.split(b" ")[0]) for e in server.exchanges]
    assert sent == [(1, b"GET"), (1, b"GET"), (2, b"GET"), (2, b"POST")]


def test_a_header_with_cr_or_lf_is_refused_before_anything_is_sent() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            for headers in ([("X-A", "ok\r\nX-Injected: yes")], [("X-A\n", "v")]):
                with pytest.raises(ValueError, match="CR or LF"):
                    await get(replay, server.port, headers=headers)
            await replay.aclose()
            return server

    server = run(scenario)
    assert server.exchanges == [] and server.connections == 0  # type: ignore[attr-defined]


def test_target_bytes_beyond_ascii_are_sent_as_they_are() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            await get(replay, server.port, target=b"/caf\xc3\xa9?q=\xff")
            await replay.aclose()
            return server

    [exchange] = run(scenario).exchanges  # type: ignore[attr-defined]
    assert exchange.request_line == b"GET /caf\xc3\xa9?q=\xff HTTP/1.1"


def test_a_method_or_target_that_would_break_the_request_line_is_refused() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            for method, target in (("GET", b"/a b"), ("GET", b"/a\r\nX: y"), ("GET X", b"/"), ("", b"/")):
                with pytest.raises(ValueError, match="not a request line"):
                    await get(replay, server.port, method=method, target=target)
            await replay.aclose()
            return server

    assert run(scenario).connections == 0  # type: ignore[attr-defined]


def test_a_second_answer_to_one_request_is_not_taken_for_the_next_one() -> None:
    """An upstream that answers twice: the first answer is the replay's, its headers are not mixed
    with the second's, and the connection is closed rather than reused out of step."""
    twice = JSON_OK + b"HTTP/1.1 500 Oops\r\nX-Second: yes\r\nContent-Length: 0\r\n\r\n"

    async def scenario() -> tuple[ReplayAnswer, ReplayAnswer, int]:
        async with scripted(fixed(twice)) as server:
            replay = client()
            first = await get(replay, server.port)
            second = await get(replay, server.port)
            await replay.aclose()
            return first, second, server.connections

    first, second, connections = run(scenario)  # type: ignore[misc]
    assert first.status == 200 and (b"X-Second", b"yes") not in first.headers
    assert second.status == 200 and connections == 2


def test_aclose_closes_idle_connections() -> None:
    async def scenario() -> Scripted:
        async with scripted(fixed(JSON_OK)) as server:
            replay = client()
            await get(replay, server.port)
            await replay.aclose()
            await until(lambda: server.closed_by_client == 1, "the client closing its idle connection", 5.0)
            return server

    assert run(scenario).closed_by_client == 1  # type: ignore[attr-defined]


def test_https_origins_are_reached_over_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> tuple[ReplayAnswer, str]:
        async with scripted(fixed(JSON_OK), tls=server_tls) as server:
            replay = ReplayClient(pool_size=2, max_body_bytes=1000, ssl_context=trusting)
            answer = await get(replay, server.port, scheme="https")
            untrusting = client()
            with pytest.raises(ReplayFailed) as failed:
                await get(untrusting, server.port, scheme="https")
            await replay.aclose()
            await untrusting.aclose()
            return answer, str(failed.value)

    answer, message = run(scenario)  # type: ignore[misc]
    assert answer.status == 200 and answer.body == b'{"id": 42}\n'
    assert "CERTIFICATE_VERIFY_FAILED" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8201", ("http", "127.0.0.1", 8201, "", "127.0.0.1:8201")),
        ("https://catalog.internal/", ("https", "catalog.internal", 443, "", "catalog.internal")),
        ("http://[::1]:9000/v2/", ("http", "::1", 9000, "/v2", "[::1]:9000")),
    ],
)
def test_origins_parse_scheme_host_port_and_path(url: str, expected: tuple) -> None:
    origin = Origin.parse(url)
    assert (origin.scheme, origin.host, origin.port, origin.prefix, origin.host_header) == expected


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Origin.parse("ftp://127.0.0.1/")
