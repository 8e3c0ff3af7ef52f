"""A raw HTTP/1.1 exchange over a socket, for byte-exact checks no client library would allow."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RawResponse", "raw_request", "request_heads"]


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
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
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


def request_heads(sock: socket.socket) -> Iterator[tuple[str, str]]:
    """(method, target) of each request arriving on ``sock``, for a raw upstream, until the peer
    closes. Bodies are not read: a request with one must be the last the upstream reads."""
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            chunk = sock.recv(65536)
            if not chunk:
                return
            pending += chunk
        head, _, pending = pending.partition(b"\r\n\r\n")
        method, target = head.decode("latin-1").split(" ", 2)[:2]
        yield method, target
