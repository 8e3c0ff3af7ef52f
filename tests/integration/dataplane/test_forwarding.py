"""Forwarding and transparency against real upstream processes through a real uvicorn data plane."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
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
from tests.integration.dataplane.rawhttp import raw_request

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DataPlaneProcess, UpstreamServer, Store]]:
    root = tmp_path_factory.mktemp("forwarding")
    legacy = start_upstream("legacy", root)
    store = Store(root / "store.sqlite3")
    version = store.publish(
        table(
            [Upstream(name=LEGACY, url=legacy.url)],
            [Rule(name="uploads", match=RuleMatch(path="/echo/upload"), max_body_bytes=128 * MIB)],
        )
    )
    dataplane = start_dataplane(root / "home", store, legacy.url)
    store.wait_applied(version, workers=1)
    yield dataplane, legacy, store
    dataplane.process.stop()
    legacy.process.stop()
    store.engine.dispose()


def _echo(response: httpx2.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _header_values(document: dict, name: str) -> list[str]:
    return [v for k, v in document["headers"] if k.lower() == name]


def test_method_raw_path_query_and_body_reach_the_upstream_unchanged(stack) -> None:
    dataplane, _, _ = stack
    body = b"name=caf%C3%A9&x=1"
    request = (
        b"PATCH /echo/a%2Fb/caf%C3%A9;p=1?q=a%20b&q=c+d&empty= HTTP/1.1\r\nHost: shop.test\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nX-Custom: one\r\nX-Custom: two\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    response = raw_request(dataplane.port, request)
    document = json.loads(response.body)
    assert response.status == 200
    assert document["method"] == "PATCH"
    assert document["raw_target"] == "/echo/a%2Fb/caf%C3%A9;p=1?q=a%20b&q=c+d&empty="
    assert document["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert _header_values(document, "x-custom") == ["one", "two"]
    assert _header_values(document, "host") == ["shop.test"]
    assert _header_values(document, "content-type") == ["application/x-www-form-urlencoded"]
    # no header of the client library of the proxy's own
    assert not _header_values(document, "user-agent")
    assert not _header_values(document, "accept-encoding")
    assert not _header_values(document, "accept")


def test_header_values_with_utf8_beyond_ascii_reach_the_upstream_byte_for_byte(stack) -> None:
    """obs-text (RFC 9110 section 5.5) in UTF-8: a cookie value, a file name."""
    dataplane, _, _ = stack
    cookie, name = "caf\u00e9 \u2713".encode(), "na\u00efve.pdf".encode()
    request = (
        b"GET /echo/text HTTP/1.1\r\nHost: shop.test\r\nCookie: name=" + cookie + b"\r\n"
        b"X-File: " + name + b"\r\nConnection: close\r\n\r\n"
    )
    document = json.loads(raw_request(dataplane.port, request).body)
    assert [v.encode("latin-1") for v in _header_values(document, "cookie")] == [b"name=" + cookie]
    assert [v.encode("latin-1") for v in _header_values(document, "x-file")] == [name]


def test_a_header_value_that_is_not_utf8_is_refused_with_400_naming_it(stack) -> None:
    """Such bytes could not pass unchanged (the upstream client writes header text as UTF-8): the
    request is refused before anything is sent, with a message that says which header and why."""
    dataplane, _, _ = stack
    request = (
        b"POST /echo/latin1 HTTP/1.1\r\nHost: shop.test\r\nX-File: na\xefve\r\nAccept: application/json"
        b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    )
    response = raw_request(dataplane.port, request)
    assert response.status == 400
    error = json.loads(response.body)
    assert "'x-file'" in error["detail"] and "UTF-8" in error["detail"], error
    assert error["request_id"] == response.all("x-request-id")[0]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_proxy_adds_no_header_of_its_own_to_a_bare_request(stack, method) -> None:
    """A request with a body and no Content-Type, and one with neither Accept nor User-Agent, reach the
    upstream with exactly the client's headers plus the proxy's X-Forwarded-*, request id and trace."""
    dataplane, _, _ = stack
    body = b"raw bytes" if method == "POST" else b""
    length = b"Content-Length: %d\r\n" % len(body) if body else b""
    request = (
        method.encode()
        + b" /echo/bare HTTP/1.1\r\nHost: shop.test\r\nX-One: 1\r\n"
        + length
        + b"Connection: close\r\n\r\n"
        + body
    )
    document = json.loads(raw_request(dataplane.port, request).body)
    names = [name.lower() for name, _ in document["headers"]]
    expected = {"host", "x-one", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id"}
    expected |= {"traceparent"} | ({"content-length"} if body else set())
    assert sorted(names) == sorted(expected)


def test_repeated_set_cookie_headers_pass_in_order(stack) -> None:
    dataplane, _, _ = stack
    response = raw_request(dataplane.port, b"GET /cookies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.all("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly", "c=3; Path=/; SameSite=Lax"]


def test_redirects_pass_and_only_the_upstreams_own_location_is_rewritten(stack) -> None:
    dataplane, legacy, _ = stack
    with httpx2.Client(base_url=dataplane.url, follow_redirects=False) as client:
        foreign = client.get("/redirect", params={"to": "https://example.org/next?a=1"})
        relative = client.get("/redirect", params={"to": "/cart/?x=1"})
        own = client.get("/redirect-self")
    assert foreign.status_code == 302 and foreign.headers["location"] == "https://example.org/next?a=1"
    assert relative.headers["location"] == "/cart/?x=1"
    assert own.headers["location"] == f"http://127.0.0.1:{dataplane.port}/echo/after?x=1"
    assert str(legacy.port) not in own.headers["location"]


def test_hop_by_hop_headers_are_dropped_in_both_directions(stack) -> None:
    dataplane, _, _ = stack
    request = (
        b"GET /echo/hop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Client-Hop\r\n"
        b"X-Client-Hop: secret\r\n"
        b"Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n"
        b"X-End-To-End: yes\r\n\r\n"
    )
    document = json.loads(raw_request(dataplane.port, request).body)
    names = {k.lower() for k, _ in document["headers"]}
    assert names.isdisjoint({"x-client-hop", "keep-alive", "te", "upgrade", "proxy-authorization"})
    assert "x-end-to-end" in names
    response = raw_request(dataplane.port, b"GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.header("x-kept") == "kept"
    assert response.header("x-secret-hop") is None
    assert response.header("keep-alive") is None


def test_forwarded_headers_are_the_proxys_own_for_an_untrusted_peer(stack) -> None:
    dataplane, _, _ = stack
    request = (
        b"GET /echo/fwd HTTP/1.1\r\nHost: shop.test:8000\r\nX-Forwarded-For: 6.6.6.6\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nConnection: close\r\n\r\n"
    )
    document = json.loads(raw_request(dataplane.port, request).body)
    assert _header_values(document, "x-forwarded-for") == ["127.0.0.1"]
    assert _header_values(document, "x-forwarded-proto") == ["http"]
    assert _header_values(document, "x-forwarded-host") == ["shop.test:8000"]


def test_forwarded_headers_of_a_trusted_proxy_are_extended(tmp_path: Path, stack) -> None:
    _, legacy, store = stack
    dataplane = start_dataplane(
        tmp_path / "home", store, legacy.url, extra_env={"STRANGLER_TRUSTED_PROXIES": "127.0.0.0/8"}
    )
    try:
        request = (
            b"GET /echo/fwd HTTP/1.1\r\nHost: internal:8000\r\nX-Forwarded-For: 203.0.113.7\r\n"
            b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\nConnection: close\r\n\r\n"
        )
        document = json.loads(raw_request(dataplane.port, request).body)
        # the upstream's own Location is rewritten to the origin the user reached, not the proxy's
        redirect = raw_request(dataplane.port, request.replace(b"/echo/fwd", b"/redirect-self"))
    finally:
        dataplane.process.stop()
    assert redirect.header("location") == "https://shop.example/echo/after?x=1"
    assert _header_values(document, "x-forwarded-for") == ["203.0.113.7, 127.0.0.1"]
    assert _header_values(document, "x-forwarded-proto") == ["https"]
    assert _header_values(document, "x-forwarded-host") == ["shop.example"]


def test_request_id_traceparent_and_strangler_headers(stack) -> None:
    dataplane, _, _ = stack
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with httpx2.Client(base_url=dataplane.url) as client:
        kept = _echo(
            client.get(
                "/echo/ids",
                headers={
                    "x-request-id": "order-42-abcdef",
                    "traceparent": parent,
                    "x-strangler-route": "forged",
                },
            )
        )
        replaced = _echo(
            client.get("/echo/ids", headers={"x-request-id": "bad id\twith spaces", "traceparent": "junk"})
        )
        fresh = _echo(client.get("/echo/ids"))
    assert _header_values(kept, "x-request-id") == ["order-42-abcdef"]
    assert _header_values(kept, "traceparent") == [parent]
    assert not [k for k, _ in kept["headers"] if k.lower().startswith("x-strangler-")]
    for document in (replaced, fresh):
        (request_id,) = _header_values(document, "x-request-id")
        (traceparent,) = _header_values(document, "traceparent")
        assert len(request_id) == 32 and request_id != "bad id\twith spaces"
        version, trace_id, span_id, flags = traceparent.split("-")
        assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert _header_values(replaced, "traceparent") != _header_values(fresh, "traceparent")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_fifty_mib_upload_and_download_stream_with_flat_memory(stack) -> None:
    dataplane, _, _ = stack
    pid = dataplane.process.pid
    with httpx2.Client(base_url=dataplane.url, timeout=60) as client:
        client.get("/echo/warm")
        before = _peak_rss_mb(pid)

        block = os.urandom(MIB)
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            for _ in range(50):
                digest.update(block)
                yield block

        uploaded = _echo(client.post("/echo/upload", content=chunks()))  # chunked: no Content-Length
        assert uploaded["body_length"] == 50 * MIB
        assert uploaded["body_sha256"] == digest.hexdigest()
        received = 0
        with client.stream("GET", "/download", params={"mb": "50"}) as response:
            assert response.headers["content-length"] == str(50 * MIB)
            for chunk in response.iter_raw():
                received += len(chunk)
        assert received == 50 * MIB
    grown = _peak_rss_mb(pid) - before
    assert grown < 20, f"peak RSS grew by {grown:.1f} MiB while moving 100 MiB"


def test_request_over_the_body_limit_is_refused_with_413(stack) -> None:
    dataplane = stack[0]
    with httpx2.Client(base_url=dataplane.url, timeout=30) as client:
        declared = client.post("/echo/small", content=b"x" * (10 * MIB + 1))
        streamed = client.post("/echo/small", content=iter([b"x" * MIB] * 11))
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"] == "request_too_large"
        assert response.json()["request_id"]


def test_slow_client_and_upstream_answers_do_not_block_other_requests(stack) -> None:
    dataplane, _, _ = stack
    results: list[int] = []

    def slow() -> None:
        with httpx2.Client(base_url=dataplane.url, timeout=10) as client:
            results.append(client.get("/slow", params={"ms": "1500"}).status_code)

    thread = threading.Thread(target=slow)
    thread.start()
    with httpx2.Client(base_url=dataplane.url) as client:
        for _ in range(20):
            assert client.get("/echo/fast").status_code == 200
    assert thread.is_alive(), "the fast requests waited for the slow one"
    thread.join()
    assert results == [200]
