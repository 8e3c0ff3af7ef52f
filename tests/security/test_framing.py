"""Point 1: HTTP framing and smuggling, sent as raw bytes to a real data plane.

Every hostile message is refused with a 4xx or a close, and the recording upstream behind the proxy
never parses the second, smuggled request (``GET /smuggled``) hidden in it.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

from tests.security.conftest import SLOW_CLIENT_TIMEOUT_S, Front
from tests.security.rawclient import exchange

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("security-framing")]

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /a HTTP/1.1\r\nHost: x\r\n"
CHUNKED_EMPTY = b"0\r\n\r\n"

CASES: dict[str, bytes] = {
    "content-length and transfer-encoding": POST
    + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    + CHUNKED_EMPTY
    + SMUGGLED,
    "transfer-encoding then content-length": POST
    + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
    + CHUNKED_EMPTY
    + SMUGGLED,
    "conflicting content-length": POST + b"Content-Length: 0\r\nContent-Length: 36\r\n\r\n" + SMUGGLED,
    "duplicate equal content-length": POST + b"Content-Length: 36\r\nContent-Length: 36\r\n\r\n" + SMUGGLED,
    "content-length list": POST + b"Content-Length: 36, 36\r\n\r\n" + SMUGGLED,
    "signed content-length": POST + b"Content-Length: +36\r\n\r\n" + SMUGGLED,
    "transfer-encoding identity": POST + b"Transfer-Encoding: identity\r\n\r\n" + SMUGGLED,
    "unknown transfer coding": POST + b"Transfer-Encoding: gzip\r\n\r\n" + SMUGGLED,
    "coding before chunked": POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "chunked not last": POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "space before colon": POST + b"Transfer-Encoding : chunked\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "vertical tab": POST + b"Transfer-Encoding:\x0bchunked\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "xchunked": POST + b"Transfer-Encoding: xchunked\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "duplicate transfer-encoding": POST
    + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    + CHUNKED_EMPTY
    + SMUGGLED,
    "obs-fold transfer-encoding": POST + b"Transfer-Encoding:\r\n chunked\r\n\r\n" + CHUNKED_EMPTY + SMUGGLED,
    "obs-fold header": b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n" + SMUGGLED,
    "chunk size not hex": POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "negative chunk size": POST + b"Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "overflowing chunk size": POST
    + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nabc\r\n0\r\n\r\n"
    + SMUGGLED,
    "bad chunk terminator": POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n" + SMUGGLED,
    "bare LF in chunks": POST + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n" + SMUGGLED,
    "bare LF in head": b"GET /a HTTP/1.1\nHost: x\n\n" + SMUGGLED,
    "bare CR in head": b"GET /a HTTP/1.1\rHost: x\r\r\n" + SMUGGLED,
    "space in header name": b"GET /a HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n" + SMUGGLED,
    "NUL in header value": b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n" + SMUGGLED,
    "missing host": b"GET /a HTTP/1.1\r\n\r\n" + SMUGGLED,
    "empty host": b"GET /a HTTP/1.1\r\nHost:\r\n\r\n" + SMUGGLED,
    "duplicate host": b"GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" + SMUGGLED,
    "invalid host": b"GET /a HTTP/1.1\r\nHost: x y/z\r\n\r\n" + SMUGGLED,
    "host with path": b"GET /a HTTP/1.1\r\nHost: x/../admin\r\n\r\n" + SMUGGLED,
    "absolute-form for another host": b"GET http://evil.example/a HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    "authority-form": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n" + SMUGGLED,
}


def _assert_no_smuggling(front: Front, marker: str) -> None:
    """A fresh, normal request is served; by then the upstream has parsed everything sent before it."""
    with urllib.request.urlopen(f"{front.dataplane.url}/{marker}", timeout=10) as response:
        assert response.status == 200
    paths = front.upstream.paths()
    assert f"/{marker}" in paths
    assert "/smuggled" not in paths, paths


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_framing_is_refused(front: Front, name: str) -> None:
    front.upstream.requests.clear()
    result = exchange(front.dataplane.port, CASES[name], timeout=5)
    assert result.statuses, f"{name}: no answer at all ({result.data!r})"
    assert 400 <= result.statuses[0] < 500, f"{name}: {result.statuses}"
    assert result.closed, f"{name}: the connection stayed open after a refusal"
    assert len(result.statuses) == 1
    _assert_no_smuggling(front, "sentinel-" + name.replace(" ", "-"))
    assert "/a" not in front.upstream.paths(), f"{name}: the refused request reached the upstream"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"GET /a\r\n\r\n", 400, id="no version (HTTP/0.9)"),
        pytest.param(b"GET /a\r\nHost: x\r\n\r\n", 400, id="no version, then headers"),
        pytest.param(b"GET /a HTTP/0.9\r\nHost: x\r\n\r\n", 400, id="HTTP/0.9 (read as no version)"),
        pytest.param(b"GET /a HTTP/1.2\r\nHost: x\r\n\r\n", 505, id="HTTP/1.2"),
        pytest.param(b"GET /a HTTP/2.0\r\nHost: x\r\n\r\n", 505, id="HTTP/2.0"),
        pytest.param(b"GET /a HTTP/3.0\r\nHost: x\r\n\r\n", 505, id="HTTP/3.0"),
        pytest.param(b"GET /a HTTP/1.0\r\n\r\n", 400, id="HTTP/1.0 without Host"),
    ],
)
def test_only_http_1_0_and_1_1_with_a_host_are_served(
    front: Front, request_bytes: bytes, status: int
) -> None:
    front.upstream.requests.clear()
    result = exchange(front.dataplane.port, request_bytes, timeout=5)
    assert result.statuses == [status], result.data
    assert result.closed
    assert front.upstream.paths() == [], "a refused request reached the upstream"


def test_http_1_0_with_a_host_is_served_and_the_upstream_sees_that_host(front: Front) -> None:
    front.upstream.requests.clear()
    result = exchange(front.dataplane.port, b"GET /old HTTP/1.0\r\nHost: shop.test\r\n\r\n", timeout=5)
    assert result.statuses == [200] and result.closed
    (request,) = front.upstream.requests
    assert request.header("host") == "shop.test"
    assert request.header("x-forwarded-host") == "shop.test"


def test_valid_pipelined_requests_still_work(front: Front) -> None:
    """The control case: the same bytes, well framed, give two answers and two upstream requests."""
    front.upstream.requests.clear()
    payload = POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED
    with socket.create_connection(("127.0.0.1", front.dataplane.port), timeout=10) as sock:
        sock.sendall(payload)
        data = b""
        while data.count(b"recorded") < 2:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.count(b"HTTP/1.1 200") == 2
    assert front.upstream.paths() == ["/a", "/smuggled"]
    assert front.upstream.requests[0].body == b"abc"


def test_absolute_form_naming_the_same_host_is_served(front: Front) -> None:
    front.upstream.requests.clear()
    result = exchange(
        front.dataplane.port,
        b"GET http://x/abs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        timeout=5,
    )
    assert result.statuses == [200]
    assert front.upstream.paths() == ["/abs"]


def test_oversized_headers_get_431(front: Front) -> None:
    payload = b"GET /a HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    result = exchange(front.dataplane.port, payload, timeout=5)
    assert result.statuses == [431] and result.closed
    many = b"GET /a HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(3000)) + b"\r\n"
    result = exchange(front.dataplane.port, many, timeout=5)
    assert result.statuses == [431] and result.closed


def test_oversized_bodies_get_413(front: Front) -> None:
    """The default route limit is 10 MiB: a declared larger body is refused before it is read."""
    front.upstream.requests.clear()
    payload = POST + b"Content-Length: 20000000\r\n\r\n" + b"a" * 1000
    result = exchange(front.dataplane.port, payload, timeout=5)
    assert result.statuses[:1] == [413]
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    chunked = POST + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 11 + b"0\r\n\r\n"
    result = exchange(front.dataplane.port, chunked, timeout=10)
    assert result.statuses[:1] == [413]
    assert "/a" not in front.upstream.paths()


def _trickle(port: int, parts: list[bytes], interval: float, stop: threading.Event) -> tuple[bytes, float]:
    """Send ``parts`` one by one, waiting ``interval`` for an answer between them; return what came back
    and how long until the server closed."""
    start = time.monotonic()
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            for part in parts:
                if stop.is_set():
                    break
                sock.sendall(part)
                sock.settimeout(interval)
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                break
            sock.settimeout(30)
            while chunk := sock.recv(65536):
                data += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
    return data, time.monotonic() - start


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param([b"GET /slow HTTP/1.1\r\n"] + [b"X-%d: v\r\n" % i for i in range(200)], id="headers"),
        pytest.param([POST + b"Content-Length: 100\r\n\r\n"] + [b"a"] * 99, id="body"),
        pytest.param([b"G"] + [b""] * 99, id="silent-connection"),
    ],
)
def test_slow_clients_are_closed_while_others_are_served(front: Front, parts: list[bytes]) -> None:
    stop = threading.Event()
    result: list[tuple[bytes, float]] = []
    # One header line or body byte every 0.3 s: fast enough to reset any idle timer, far too slow to finish.
    interval = 0.3
    worker = threading.Thread(
        target=lambda: result.append(_trickle(front.dataplane.port, parts, interval, stop))
    )
    worker.start()
    try:
        served = 0
        while worker.is_alive() and served < 200:
            with urllib.request.urlopen(f"{front.dataplane.url}/meanwhile", timeout=2) as response:
                assert response.status == 200
            served += 1
        worker.join(20)
        assert not worker.is_alive(), "the slow client was never closed"
    finally:
        stop.set()
        worker.join(10)
    data, elapsed = result[0]
    assert served >= 1
    assert data.startswith(b"HTTP/1.1 408"), data[:100]
    assert elapsed < SLOW_CLIENT_TIMEOUT_S + 3
    assert "/slow" not in front.upstream.paths()


def test_content_length_longer_than_the_body_never_becomes_a_request(front: Front) -> None:
    front.upstream.requests.clear()
    payload = POST + b"Content-Length: 100\r\n\r\n" + b"abc"
    result = exchange(front.dataplane.port, payload, timeout=SLOW_CLIENT_TIMEOUT_S + 3)
    assert result.closed
    assert result.statuses in ([], [408])
    half_closed = exchange(front.dataplane.port, payload, timeout=SLOW_CLIENT_TIMEOUT_S + 3, close_after=True)
    assert half_closed.closed
    _assert_no_smuggling(front, "sentinel-short-body")
    assert all(r.target != "/a" for r in front.upstream.requests)


def _read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed before a response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside a response body"
        body += chunk
    return head


def test_slow_headers_after_a_fast_request_on_the_same_connection_are_closed(front: Front) -> None:
    """The header timer of a later request on a kept-alive connection runs from that request's start."""
    with socket.create_connection(("127.0.0.1", front.dataplane.port), timeout=30) as sock:
        sock.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        # Start the next request part-way through the first one's header period, then trickle it.
        time.sleep(SLOW_CLIENT_TIMEOUT_S / 2)
        start = time.monotonic()
        sock.sendall(b"GET /slow-second HTTP/1.1\r\n")
        data = b""
        for i in range(100):
            sock.sendall(b"X-%d: v\r\n" % i)
            sock.settimeout(0.3)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            break
        elapsed = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 408"), data[:100]
    assert SLOW_CLIENT_TIMEOUT_S * 0.9 <= elapsed < SLOW_CLIENT_TIMEOUT_S + 3
    assert "/slow-second" not in front.upstream.paths()
