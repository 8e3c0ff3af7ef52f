"""A keep-alive connection the upstream drops as it is reused: a GET is sent once more, a POST never.

Servers close idle keep-alive connections (gunicorn after 2 s by default), and the close can cross a
request the proxy has just sent on that connection. The upstream here answers the first request on
each connection and drops the connection, unanswered, at the next one: the proxy must send a request
without a body once more on a new connection, and must answer 502 for one with a body rather than send
it twice."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from strangler_proxy.routes import LEGACY
from tests.integration.dataplane.harness import DataPlaneProcess, dataplane_over
from tests.integration.dataplane.rawhttp import RawUpstream, request_heads, serving

pytestmark = pytest.mark.integration


class _DroppingUpstream(RawUpstream):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str, str]] = []  # (connection, method, path) of every request read
        self.connections = 0


class _Handler(socketserver.BaseRequestHandler):
    server: _DroppingUpstream

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
            connection = self.server.connections
        answered = False
        for method, target in request_heads(self.request):
            if target == "/healthz":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                continue
            with self.server.lock:
                self.server.seen.append((connection, method, target))
            if answered:
                return  # drop the connection, the request unanswered
            answered = True
            body = f"{method} {target} on connection {connection}".encode()
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture()
def upstream() -> Iterator[_DroppingUpstream]:
    with serving(_DroppingUpstream()) as server:
        yield server


@pytest.fixture()
def dataplane(tmp_path: Path, upstream: _DroppingUpstream) -> Iterator[DataPlaneProcess]:
    with dataplane_over(upstream.url, tmp_path) as process:
        yield process


def _requests_after_warm_up(upstream: _DroppingUpstream, client: httpx2.Client) -> int:
    """Leave one answered connection in the proxy's pool; the index of the next request in ``seen``."""
    assert client.get("/warm-up").status_code == 200
    return len(upstream.seen)


def test_a_get_that_meets_a_dropped_connection_is_sent_once_more(dataplane, upstream) -> None:
    with httpx2.Client(base_url=f"http://127.0.0.1:{dataplane.port}", timeout=10) as client:
        first = _requests_after_warm_up(upstream, client)
        response = client.get("/catalogue", params={"page": "2"})
    assert response.status_code == 200
    dropped, resent = upstream.seen[first:]
    assert dropped[1:] == resent[1:] == ("GET", "/catalogue?page=2")
    assert resent[0] != dropped[0]
    assert response.text == f"GET /catalogue?page=2 on connection {resent[0]}"


@pytest.mark.parametrize(
    ("method", "content"),
    [("POST", b'{"sku": "A-1", "quantity": 1}'), ("PUT", b"replace"), ("PATCH", b"{}")],
)
def test_a_request_with_a_body_that_meets_a_dropped_connection_is_not_sent_twice(
    dataplane, upstream, method: str, content: bytes
) -> None:
    with httpx2.Client(base_url=f"http://127.0.0.1:{dataplane.port}", timeout=10) as client:
        first = _requests_after_warm_up(upstream, client)
        response = client.request(method, "/orders", content=content, headers={"accept": "application/json"})
        after = client.get("/after")
    assert response.status_code == 502
    assert response.json()["upstream"] == LEGACY
    assert upstream.seen[first] == (upstream.seen[first][0], method, "/orders")
    assert [seen[1:] for seen in upstream.seen[first:]] == [(method, "/orders"), ("GET", "/after")]
    assert after.status_code == 200
