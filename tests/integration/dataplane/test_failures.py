"""Failure handling on real processes: timeouts, connect errors, breaker, fallback, faults, error bodies."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from strangler_proxy.routes import (
    LEGACY,
    ActionMode,
    BreakerSettings,
    FaultInjection,
    Rule,
    RuleAction,
    RuleMatch,
    Timeouts,
    Upstream,
    WriteFence,
)
from tests.integration.dataplane.harness import (
    DataPlaneProcess,
    Store,
    UpstreamServer,
    start_dataplane,
    start_upstream,
    table,
)

pytestmark = pytest.mark.integration

FAST = Timeouts(connect_s=0.5, read_s=0.4)


def _new(path: str, name: str, upstream: str = "catalog", **kwargs) -> Rule:
    action = RuleAction(mode=ActionMode.NEW, upstream=upstream, fallback=kwargs.pop("fallback", "legacy"))
    return Rule(name=name, match=RuleMatch(path=path), action=action, **kwargs)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DataPlaneProcess, UpstreamServer, UpstreamServer]]:
    root = tmp_path_factory.mktemp("failures")
    legacy = start_upstream("legacy", root)
    catalog = start_upstream("catalog", root)
    # a port held bound but not listening, so no other process can take it while this module runs (a
    # port merely found free was once given to the blackhole below): connecting is refused at once
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    # a port whose accept queue is full: the kernel drops new SYNs, so connecting hangs until timed out
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    filler = socket.create_connection(blackhole.getsockname())
    store = Store(root / "store.sqlite3")
    upstreams = [
        Upstream(name=LEGACY, url=legacy.url),
        Upstream(name="catalog", url=catalog.url, breaker=BreakerSettings(failure_threshold=1000)),
        Upstream(
            name="gone", url=f"http://127.0.0.1:{dead_port}", breaker=BreakerSettings(failure_threshold=1000)
        ),
        Upstream(name="flaky", url=catalog.url, breaker=BreakerSettings(failure_threshold=3, open_s=0.6)),
        Upstream(
            name="blackhole",
            url=f"http://127.0.0.1:{blackhole.getsockname()[1]}",
            breaker=BreakerSettings(failure_threshold=1000),
        ),
    ]
    rules = [
        _new("/slow", "slow-new", timeouts=FAST, fallback="none"),
        _new("/slow-body", "slow-body-new", timeouts=FAST, fallback="none"),
        Rule(name="slow-legacy", match=RuleMatch(path="/echo/slow-legacy"), timeouts=FAST),
        _new("/echo/gone", "gone-new", upstream="gone", fallback="none"),
        _new("/echo/hang", "hang-new", upstream="blackhole", fallback="none", timeouts=FAST),
        _new("/echo/hang-fallback", "hang-fallback", upstream="blackhole", timeouts=FAST),
        _new("/echo/gone-fallback", "gone-fallback", upstream="gone", timeouts=FAST),
        _new("/status/503", "broken-new"),
        _new("/status/500", "broken-nofallback", fallback="none"),
        _new("/status/502", "flaky-new", upstream="flaky", fallback="none"),
        _new("/status/504", "flaky-fallback", upstream="flaky"),
        _new("/echo/small", "small-body", max_body_bytes=1000),
        _new(
            "/echo/fault-abort",
            "fault-abort",
            fallback="none",
            fault=FaultInjection(target="new", percent=100, abort_status=418),
        ),
        _new(
            "/echo/fault-delay",
            "fault-delay",
            fault=FaultInjection(target="both", percent=100, delay_ms=300),
        ),
        _new(
            "/echo/fault-half",
            "fault-half",
            fallback="none",
            fault=FaultInjection(target="new", percent=50, abort_status=503),
        ),
        _new(
            "/echo/fault-fallback",
            "fault-fallback",
            fault=FaultInjection(target="new", percent=100, abort_status=500),
        ),
        _new("/echo/fenced", "fenced", fence=WriteFence(until=time.time() + 3600, retry_after_s=2)),
        _new("/echo/fence-ended", "fence-ended", fence=WriteFence(until=time.time() - 1)),
    ]
    version = store.publish(table(upstreams, rules))
    dataplane = start_dataplane(root / "home", store, legacy.url)
    store.wait_applied(version, workers=1)
    yield dataplane, legacy, catalog
    dataplane.process.stop()
    legacy.process.stop()
    catalog.process.stop()
    store.engine.dispose()
    filler.close()
    blackhole.close()
    dead.close()


@pytest.fixture
def client(stack) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=stack[0].url, timeout=10) as client:
        yield client


def _requests_seen(server: UpstreamServer) -> int:
    return httpx2.get(f"{server.url}/healthz").json()["requests"]


def test_read_timeout_answers_504_naming_the_upstream_and_request_id(client) -> None:
    response = client.get("/slow", params={"ms": "2000"}, headers={"x-request-id": "timeout-test-0001"})
    assert response.status_code == 504
    document = response.json()
    assert document["error"] == "upstream_timeout"
    assert document["upstream"] == "catalog"
    assert document["request_id"] == "timeout-test-0001"
    assert response.headers["x-request-id"] == "timeout-test-0001"
    assert client.get("/slow", params={"ms": "50"}).status_code == 200


def test_legacy_routes_have_their_own_timeouts_too(client) -> None:
    assert client.get("/echo/slow-legacy").status_code == 200  # fast answer within 0.4 s


def test_a_small_answer_that_stalls_is_a_504(client) -> None:
    response = client.get("/slow-body", params={"ms": "2000", "kb": "2"})
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"


def test_a_large_answer_that_stalls_after_its_headers_breaks_the_connection(client) -> None:
    with client.stream("GET", "/slow-body", params={"ms": "2000", "kb": "1024"}) as response:
        assert response.status_code == 200
        with pytest.raises(httpx2.TransportError):
            response.read()


def test_connect_timeout_answers_504_or_falls_back(client) -> None:
    response = client.get("/echo/hang")
    assert response.status_code == 504
    assert "connecting to upstream 'blackhole' timed out after 0.5s" in response.json()["detail"]
    assert response.elapsed.total_seconds() < 5
    fallback = client.get("/echo/hang-fallback")
    assert fallback.status_code == 200 and fallback.json()["upstream"] == "legacy"


def test_connect_error_answers_502(client) -> None:
    response = client.get("/echo/gone")
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unreachable"
    assert response.json()["upstream"] == "gone"


def test_errors_are_html_for_browsers(client) -> None:
    response = client.get("/echo/gone", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text and response.headers["x-request-id"] in response.text


def test_get_falls_back_to_legacy_when_the_new_upstream_fails(client, stack) -> None:
    trace_id = secrets.token_hex(16)
    unreachable = client.get(
        "/echo/gone-fallback", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    )
    assert unreachable.status_code == 200
    assert unreachable.json()["upstream"] == "legacy"
    assert unreachable.headers["x-strangler-target"] == "legacy"
    # the worker's own log is JSON lines; its line about the fallback names the request's trace id
    log = stack[0].home / "logs" / "dataplane.log"
    (line,) = [
        json.loads(text) for text in log.read_text().splitlines() if text.startswith("{") and trace_id in text
    ]
    assert line["logger"] == "strangler_proxy.dataplane.forward" and line["trace_id"] == trace_id
    assert line["level"] == "warning" and "falling back to the legacy" in line["event"]
    server_error = client.get("/status/503")
    assert server_error.status_code == 503 and server_error.json()["upstream"] == "legacy"
    head = client.head("/echo/gone-fallback")
    assert head.status_code == 200 and head.headers["x-upstream"] == "legacy"


def test_a_5xx_without_fallback_passes_through(client) -> None:
    response = client.get("/status/500")
    assert response.status_code == 500
    assert response.json() == {"upstream": "catalog"}


def test_non_idempotent_requests_are_never_retried_or_sent_to_legacy(client, stack) -> None:
    _, legacy, catalog = stack
    legacy_before, catalog_before = _requests_seen(legacy), _requests_seen(catalog)
    post = client.post("/status/503", content=b"order")
    assert post.status_code == 503 and post.json() == {"upstream": "catalog"}
    failed = client.post("/echo/gone-fallback", content=b"order")
    assert failed.status_code == 502
    # each probe counts itself: a difference of 1 means nothing but the probe arrived in between
    assert _requests_seen(catalog) - catalog_before == 1 + 1  # the POST exactly once
    assert _requests_seen(legacy) - legacy_before == 1  # never sent to the legacy


def test_breaker_opens_after_consecutive_failures_then_half_opens(client, stack) -> None:
    statuses = [client.get("/status/502").status_code for _ in range(3)]
    assert statuses == [502, 502, 502]  # the upstream's own answers
    refused = client.get("/status/502")
    assert refused.status_code == 503 and refused.json()["error"] == "circuit_open"
    fallback = client.get("/status/504")  # same upstream, open breaker, GET with fallback: legacy answers
    assert fallback.json()["upstream"] == "legacy"
    internal = stack[0].internal_url
    version = client.get(f"{internal}/_strangler/version").json()
    assert version["breakers"]["flaky"] == "open"
    # after open_s the breaker lets one trial through; the upstream still fails, so it opens again
    state = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = client.get(f"{internal}/_strangler/version").json()["breakers"]["flaky"]
        if state == "half_open":
            break
        time.sleep(0.02)
    assert state == "half_open"
    trial = client.get("/status/502")
    assert trial.status_code == 502 and trial.json() == {"upstream": "catalog"}
    assert client.get("/status/502").json()["error"] == "circuit_open"


def test_body_limit_per_route(client) -> None:
    assert client.post("/echo/small", content=b"x" * 1000).status_code == 200
    response = client.post("/echo/small", content=b"x" * 1001)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


def test_fault_abort_and_delay(client) -> None:
    aborted = client.get("/echo/fault-abort")
    assert aborted.status_code == 418 and aborted.json()["error"] == "injected_fault"
    delayed = client.get("/echo/fault-delay")
    assert delayed.status_code == 200 and delayed.json()["upstream"] == "catalog"
    assert delayed.elapsed.total_seconds() >= 0.3
    fallback = client.get("/echo/fault-fallback")
    assert fallback.status_code == 200 and fallback.json()["upstream"] == "legacy"


def test_fault_applies_to_about_the_configured_share(client) -> None:
    statuses = [client.get("/echo/fault-half").status_code for _ in range(200)]
    aborted = statuses.count(503)
    assert statuses.count(200) + aborted == 200
    assert 60 <= aborted <= 140  # 50 % of 200: far outside 6 standard deviations is a bug


def test_a_write_fence_answers_writes_503_with_retry_after_and_lets_reads_through(stack, client) -> None:  # type: ignore[no-untyped-def]
    """A route whose writes are changing sides: its unsafe methods get 503 + Retry-After from the proxy
    (nothing reaches either side), its reads are served, and a fence past its end holds nothing."""
    _dataplane, legacy, catalog = stack
    legacy_before, catalog_before = _requests_seen(legacy), _requests_seen(catalog)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, "/echo/fenced", content=b'{"delta": 1}')
        assert response.status_code == 503, (method, response.text)
        assert response.headers["retry-after"] == "2"
        assert response.json()["error"] == "writes_fenced"
    # each probe counts itself: a difference of 1 means no write reached that side
    assert (_requests_seen(legacy) - legacy_before, _requests_seen(catalog) - catalog_before) == (1, 1)
    assert client.get("/echo/fenced").status_code == 200
    assert client.post("/echo/fence-ended", content=b"x").status_code == 200
