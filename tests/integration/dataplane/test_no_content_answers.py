"""Answers without content pass as they are, whatever their Content-Length says.

RFC 9110 section 8.6: a 304, and the answer to a HEAD, may carry the Content-Length the 200 to a
GET would have had, and no content follows. The upstream here is a raw socket server, since web
frameworks drop that header."""

from __future__ import annotations

import socket
import socketserver
from collections.abc import Iterator

import pytest

from tests.integration.dataplane.harness import DataPlaneProcess, dataplane_over
from tests.integration.dataplane.rawhttp import RawUpstream, read_head, request_heads, serving

pytestmark = pytest.mark.integration

_ANSWERS = {
    "/not-modified": b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n',
    "/after": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        for method, target in request_heads(self.request):
            path = target.split("?", 1)[0]
            if method == "HEAD":  # the head a GET would have, and no content
                self.request.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 5000\r\n\r\n"
                )
            elif path == "/healthz":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            else:
                self.request.sendall(
                    _ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                )


@pytest.fixture(scope="module")
def dataplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlaneProcess]:
    root = tmp_path_factory.mktemp("no-content")
    with serving(RawUpstream(_Handler)) as upstream, dataplane_over(upstream.url, root) as process:
        yield process


def _read_answer(sock: socket.socket, pending: bytes, *, body_follows: bool) -> tuple[bytes, bytes, bytes]:
    """(head, body, what is left) of one answer read from ``sock``."""
    message = read_head(sock, pending)
    assert message is not None, "the proxy closed the connection before the head of an answer"
    head, rest = message
    length = 0
    if body_follows:
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest[:length], rest[length:]


def test_a_304_with_a_content_length_passes_and_the_connection_stays_usable(dataplane) -> None:
    with socket.create_connection(("127.0.0.1", dataplane.port), timeout=10) as sock:
        sock.sendall(b'GET /not-modified HTTP/1.1\r\nHost: shop.test\r\nIf-None-Match: "v1"\r\n\r\n')
        head, body, pending = _read_answer(sock, b"", body_follows=False)
        assert head.startswith(b"HTTP/1.1 304 ")
        lines = head.lower().split(b"\r\n")
        assert b"content-length: 10" in lines
        assert b'etag: "v1"' in lines
        # the next request on the same connection gets its own answer: no body was expected or sent
        sock.sendall(b"GET /after HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        head, body, pending = _read_answer(sock, pending, body_follows=True)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert (body, pending) == (b"ok", b"")


def test_the_answer_to_a_head_keeps_its_content_length_and_the_connection_stays_usable(dataplane) -> None:
    with socket.create_connection(("127.0.0.1", dataplane.port), timeout=10) as sock:
        sock.sendall(b"HEAD /export.csv HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        head, body, pending = _read_answer(sock, b"", body_follows=False)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"content-length: 5000" in head.lower().split(b"\r\n")
        sock.sendall(b"GET /after HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        head, body, pending = _read_answer(sock, pending, body_follows=True)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert (body, pending) == (b"ok", b"")
