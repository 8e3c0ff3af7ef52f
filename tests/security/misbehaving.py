"""An upstream that answers what web frameworks never would: one broken answer per path.

Raw sockets, so every byte of the answer is the test's. ``ANSWERS`` maps a path to the bytes sent back
(a leading ``/new`` is ignored, so a new side's route gets the same answers; then the connection stays
open for the next request, unless the answer says to close it);
``/silent`` never answers, ``/hang-up`` closes without a byte and ``/slow`` answers 404 after a second.
"""

from __future__ import annotations

import socket
import socketserver
import time

from tests.integration.dataplane.rawhttp import RawUpstream, request_heads

__all__ = ["ANSWERS", "FIELD_OVER_DEFAULT", "MisbehavingUpstream", "ok_with_headers"]

FIELD_OVER_DEFAULT = 100_000
"""A header field larger than the proxy's default response field limit (64 KiB)."""


def ok_with_headers(*lines: bytes) -> bytes:
    head = b"".join(line + b"\r\n" for line in lines)
    return b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: 2\r\n\r\nok"


ANSWERS: dict[str, bytes] = {
    "/ok": ok_with_headers(b"Content-Type: text/plain"),
    "/two-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "/nul-in-header": ok_with_headers(b"X-Bad: a\x00b"),
    "/huge-field": ok_with_headers(b"X-Huge: " + b"h" * FIELD_OVER_DEFAULT),
    "/bad-status": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
    "/no-content-with-body": b"HTTP/1.1 204 No Content\r\n\r\nthis body follows a 204",
    "/short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly a few bytes",
    "/switching": (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes"
    ),
    "/big-csp": ok_with_headers(b"Content-Security-Policy: default-src 'self' " + b"x" * 9000),
    "/many-headers": ok_with_headers(*(b"X-Header-%d: %d" % (i, i) for i in range(130))),
    "/too-many-headers": ok_with_headers(*(b"X-Header-%d: %d" % (i, i) for i in range(300))),
    "/big-total": ok_with_headers(*(b"X-Part-%d: " % i + b"p" * 8000 for i in range(10))),
}
_CLOSE_AFTER = {"/short-body", "/switching"}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        for _method, target in request_heads(sock):
            path = target.split("?", 1)[0].removeprefix("/new")
            if path == "/silent":
                sock.recv(1)  # until the proxy gives up and closes
                return
            if path == "/hang-up":
                return
            if path == "/slow":  # answers after a second
                self.server.slow_requests += 1  # type: ignore[attr-defined]
                time.sleep(1.0)
            answer = ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            sock.sendall(answer)
            if path in _CLOSE_AFTER:
                return


class MisbehavingUpstream(RawUpstream):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.slow_requests = 0
