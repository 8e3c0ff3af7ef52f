"""A raw HTTP/1.1 exchange over a socket, for byte-exact checks no client library would allow."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["RawResponse", "RawUpstream", "raw_request", "read_head", "request_heads", "serving"]


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def raw_request(port: int, request: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send ``request`` verbatim, read one response (Content-Length or chunked, or until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        message = read_head(sock)
        if message is None:
            raise ConnectionError(f"port {port} closed the connection before the head of a response")
        head, rest = message
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:])]
        response = RawResponse(status, headers, b"")
        length = response.header("content-length")
        if request.startswith(b"HEAD ") or status in (204, 304):
            return response
        if length is not None:
            while len(rest) < int(length):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            response.body = rest[: int(length)]
            return response
        if (response.header("transfer-encoding") or "").lower() == "chunked":
            while not rest.endswith(b"0\r\n\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            body, cursor = b"", 0
            while True:
                size_end = rest.index(b"\r\n", cursor)
                size = int(rest[cursor:size_end], 16)
                if size == 0:
                    break
                body += rest[size_end + 2 : size_end + 2 + size]
                cursor = size_end + 2 + size + 2
            response.body = body
            return response
        while chunk := sock.recv(65536):
            rest += chunk
        response.body = rest
        return response


def read_head(sock: socket.socket, pending: bytes = b"") -> tuple[bytes, bytes] | None:
    """(head, what followed it) of the next message on ``sock``, after ``pending`` bytes already
    read; None when the peer closes before a whole head."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    return head, rest


def request_heads(sock: socket.socket) -> Iterator[tuple[str, str]]:
    """(method, target) of each request arriving on ``sock``, for a raw upstream, until the peer
    closes. Bodies are not read: a request with one must be the last the upstream reads."""
    pending = b""
    while (message := read_head(sock, pending)) is not None:
        head, pending = message
        method, target = head.decode("latin-1").split(" ", 2)[:2]
        yield method, target


class RawUpstream(socketserver.ThreadingTCPServer):
    """A raw socket upstream on 127.0.0.1 (a free port) for answers web frameworks will not send."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(server: RawUpstream) -> Iterator[RawUpstream]:
    """``server`` answering in a thread for the block."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
