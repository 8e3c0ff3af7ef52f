"""LegacyClient against a real HTTP server on loopback: translation, timeouts, retries, circuit breaker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest

from acl.catalog import ProductStatus
from acl.catalog.legacy_client import LegacyClient, RetryPolicy
from acl.circuit_breaker import BreakerState, CircuitBreaker
from acl.errors import (
    CircuitOpen,
    LegacyConnectionError,
    LegacyDataError,
    LegacyNotFound,
    LegacyRejected,
    LegacyServerError,
    LegacyTimeout,
)
from tests.support.net import free_port

pytestmark = pytest.mark.integration

PRODUCT = {
    "id": 17,
    "sku": "LS-000017",
    "name": "Classic oak knife 12",
    "description": "A knife.",
    "price": "19.90",
    "currency": "EUR",
    "stock": 12,
    "status": "active",
    "category": "Home>Kitchen>Knives",
    "created_at": "2016-03-01T10:00:00+01:00",
    "updated_at": "2016-07-01T10:00:00+02:00",
}


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: PRODUCT)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer(ThreadingHTTPServer):
    """Answers each request with the next scripted Reply for its path (the last one repeats)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            replies = self.script.get(path.split("?")[0], [Reply(404, {"error": {"code": "not_found"}})])
            return replies.pop(0) if len(replies) > 1 else replies[0]


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        reply = self.server.next_reply(self.path)
        if reply.delay:
            time.sleep(reply.delay)
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests); nothing left to answer

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_client(url: str, **kwargs: object) -> LegacyClient:
    options: dict[str, object] = {
        "timeout": httpx2.Timeout(1.0, connect=0.5),
        "retry": RetryPolicy(attempts=3, backoff=0.001),
    }
    options.update(kwargs)
    return LegacyClient(url, **options)  # type: ignore[arg-type]


def test_get_product_is_translated_and_carries_the_request_id(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply()]
    with make_client(server.url) as client:
        record = client.get_product(17, request_id="req-123")
    assert record.sku == "LS-000017" and record.status is ProductStatus.ACTIVE
    assert server.seen[0].headers["X-Request-ID"] == "req-123"
    assert server.seen[0].headers["Accept"] == "application/json"


def test_iter_products_walks_every_page(server: ScriptedServer) -> None:
    pages = [
        {"count": 3, "page": n, "page_size": 2, "num_pages": 2, "results": items}
        for n, items in ((1, [PRODUCT, {**PRODUCT, "id": 18}]), (2, [{**PRODUCT, "id": 19}]))
    ]
    server.script["/api/products"] = [Reply(body=pages[0]), Reply(body=pages[1])]
    with make_client(server.url) as client:
        ids = [record.id for record in client.iter_products(page_size=2, status="active")]
    assert ids == [17, 18, 19]
    assert [seen.path for seen in server.seen] == [
        "/api/products?page=1&page_size=2&status=active",
        "/api/products?page=2&page_size=2&status=active",
    ]


def test_idempotent_calls_are_retried_on_502_503_504(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(503, {}), Reply(502, {}), Reply()]
    with make_client(server.url) as client:
        assert client.get_product(17).id == 17
    assert len(server.seen) == 3


def test_retries_give_up_with_the_last_error(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(503, {"error": {"code": "busy"}})]
    with make_client(server.url) as client, pytest.raises(LegacyServerError) as caught:
        client.get_product(17)
    assert caught.value.status_code == 503 and "busy" in caught.value.body
    assert len(server.seen) == 3


def test_500_is_not_retried(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(500, {})]
    with make_client(server.url) as client, pytest.raises(LegacyServerError):
        client.get_product(17)
    assert len(server.seen) == 1


def test_posts_are_never_retried(server: ScriptedServer) -> None:
    server.script["/api/products/17/stock"] = [Reply(503, {}), Reply()]
    with make_client(server.url, auth=("staff", "secret")) as client, pytest.raises(LegacyServerError):
        client.set_stock(17, 5)
    assert len(server.seen) == 1
    assert json.loads(server.seen[0].body) == {"quantity": 5}
    assert server.seen[0].headers["Authorization"] == "Basic c3RhZmY6c2VjcmV0"


def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(server: ScriptedServer) -> None:
    server.script["/api/products/17/stock"] = [Reply(503, {}), Reply()]
    with make_client(server.url) as client:
        assert client.adjust_stock(17, -2, idempotency_key="saga-1:0:reserve:17:reserve").id == 17
    assert len(server.seen) == 2
    assert {seen.headers["Idempotency-Key"] for seen in server.seen} == {"saga-1:0:reserve:17:reserve"}


def test_adjust_stock_posts_a_delta(server: ScriptedServer) -> None:
    server.script["/api/products/17/stock"] = [Reply()]
    with make_client(server.url) as client:
        assert client.adjust_stock(17, -2).id == 17
    assert json.loads(server.seen[0].body) == {"delta": -2}


def test_client_errors_map_into_the_hierarchy(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(404, {"error": {"code": "not_found"}})]
    server.script["/api/products"] = [Reply(400, {"error": {"code": "invalid_parameter"}})]
    with make_client(server.url) as client:
        with pytest.raises(LegacyNotFound) as not_found:
            client.get_product(17)
        with pytest.raises(LegacyRejected) as rejected:
            client.list_products(page_size=1000)
    assert not_found.value.status_code == 404 and rejected.value.status_code == 400
    assert len(server.seen) == 2  # answers are not retried


def test_read_timeout_is_a_legacy_timeout(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(delay=1.0)]
    client = make_client(
        server.url, timeout=httpx2.Timeout(0.2, connect=0.5), retry=RetryPolicy(attempts=2, backoff=0.001)
    )
    with client, pytest.raises(LegacyTimeout):
        client.get_product(17)
    assert len(server.seen) == 2


def test_refused_connection_is_a_connection_error() -> None:
    with make_client(f"http://127.0.0.1:{free_port()}") as client, pytest.raises(LegacyConnectionError):
        client.get_product(1)


def test_malformed_bodies_are_data_errors(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(body=b"<html>oops</html>")]
    server.script["/api/products/18"] = [Reply(body={**PRODUCT, "price": "19.9"})]
    with make_client(server.url) as client:
        with pytest.raises(LegacyDataError, match="JSON"):
            client.get_product(17)
        with pytest.raises(LegacyDataError) as caught:
            client.get_product(18)
    assert caught.value.field == "price"


def test_circuit_opens_and_then_fails_fast_without_calling(server: ScriptedServer) -> None:
    server.script["/api/products/17"] = [Reply(503, {}), Reply(503, {}), Reply()]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60.0)
    with make_client(server.url, breaker=breaker, retry=RetryPolicy(attempts=1)) as client:
        for _ in range(2):
            with pytest.raises(LegacyServerError):
                client.get_product(17)
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen) as caught:
            client.get_product(17)
    assert len(server.seen) == 2
    assert (caught.value.method, caught.value.url) == ("GET", "/api/products/17")
    assert 0 < caught.value.retry_after <= 60
