"""Streaming through the front door: answers reach the client as the upstream writes them, and a
large upload streams to the upstream without the worker holding it.

- Server-sent events: the upstream sends event 1, then waits until the test has read event 1 from
  the proxy before it sends event 2. A proxy that buffered the answer would never deliver event 1.
- A 200 MiB upload on a route whose body limit is raised reaches the upstream whole (length and
  SHA-256 checked there) while the worker's peak RSS (VmHWM) stays under its 80 MB target.
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, Rule, RuleMatch, Upstream
from tests.integration.dataplane.harness import (
    DataPlaneProcess,
    Store,
    UpstreamServer,
    start_dataplane,
    start_upstream,
    table,
)
from tests.integration.dataplane.rawhttp import RawUpstream, read_head, request_heads, serving

pytestmark = pytest.mark.integration

UPLOAD_BYTES = 200 * 1024 * 1024
WORKER_RSS_LIMIT_MB = 80
_CHUNK = bytes(range(256)) * 4096  # 1 MiB


class _EventSource(socketserver.BaseRequestHandler):
    """``/events`` in one framing per path: ``/events/chunked`` or ``/events/until-close``."""

    def handle(self) -> None:
        server: EventServer = self.server  # type: ignore[assignment]
        for _method, target in request_heads(self.request):
            chunked = target.endswith("/chunked")
            framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Connection: close\r\n"
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                + framing
                + b"\r\n"
            )
            for number, event in enumerate((b"id: 1\ndata: first\n\n", b"id: 2\ndata: second\n\n"), 1):
                if number == 2 and not server.go_on.wait(10):
                    server.timed_out = True
                    return
                self.request.sendall(b"%x\r\n%s\r\n" % (len(event), event) if chunked else event)
            if chunked:
                self.request.sendall(b"0\r\n\r\n")
            return


class EventServer(RawUpstream):
    def __init__(self) -> None:
        super().__init__(_EventSource)
        self.go_on = threading.Event()
        self.timed_out = False


@dataclass
class Stack:
    dataplane: DataPlaneProcess
    events: EventServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, legacy_module: UpstreamServer) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("streaming")
    with serving(EventServer()) as events:
        store = Store(root / "store.sqlite3")
        rules = [
            Rule(name="upload", match=RuleMatch(path="/echo/upload"), max_body_bytes=UPLOAD_BYTES + 1),
            Rule(name="events", match=RuleMatch(path="/events"), action={"mode": "new", "upstream": "sse"}),
        ]
        upstreams = [Upstream(name=LEGACY, url=legacy_module.url), Upstream(name="sse", url=events.url)]
        version = store.publish(table(upstreams, rules))
        dataplane = start_dataplane(root / "home", store, legacy_module.url)
        try:
            store.wait_applied(version, workers=1)
            yield Stack(dataplane, events)
        finally:
            dataplane.process.stop()
            store.engine.dispose()


@pytest.fixture(scope="module")
def legacy_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpstreamServer]:
    server = start_upstream("legacy", tmp_path_factory.mktemp("streaming-legacy"))
    yield server
    server.process.stop()


@pytest.mark.parametrize("framing", ["chunked", "until-close"])
def test_server_sent_events_reach_the_client_as_the_upstream_writes_them(stack: Stack, framing: str) -> None:
    stack.events.go_on.clear()
    with socket.create_connection(("127.0.0.1", stack.dataplane.port), timeout=10) as sock:
        sock.sendall(
            f"GET /events/{framing} HTTP/1.1\r\nHost: shop.test\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        message = read_head(sock)
        assert message is not None
        head, received = message
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head.lower()
        while b"data: first" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed before event 1"
            received += chunk
        assert b"data: second" not in received
        stack.events.go_on.set()  # only now may the upstream write event 2
        while b"data: second" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed before event 2"
            received += chunk
    assert not stack.events.timed_out


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_200mb_upload_streams_through_with_the_worker_under_its_memory_target(stack: Stack) -> None:
    digest = hashlib.sha256()
    with socket.create_connection(("127.0.0.1", stack.dataplane.port), timeout=60) as sock:
        sock.sendall(
            b"POST /echo/upload HTTP/1.1\r\nHost: shop.test\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % UPLOAD_BYTES
        )
        for _ in range(UPLOAD_BYTES // len(_CHUNK)):
            sock.sendall(_CHUNK)
            digest.update(_CHUNK)
        message = read_head(sock)
        assert message is not None
        head, body = message
        assert head.startswith(b"HTTP/1.1 200"), head
        length = _content_length(head)
        while len(body) < length:
            body += sock.recv(65536)
    document = json.loads(body)
    assert document["body_length"] == UPLOAD_BYTES
    assert document["body_sha256"] == digest.hexdigest()
    peak = _peak_rss_mb(stack.dataplane.process.pid)
    print(f"worker peak RSS after the upload: {peak:.1f} MB")
    assert peak < WORKER_RSS_LIMIT_MB, f"the worker peaked at {peak:.1f} MB"
