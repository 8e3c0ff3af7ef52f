"""Metrics (merged over two workers), per-second stats in the store, and the JSON access log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from strangler_proxy.store import LATENCY_BUCKETS_MS
from strangler_proxy.store.schema import route_stats
from tests.integration.dataplane.harness import DataPlaneProcess, Store, UpstreamServer, start_dataplane

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path, store: Store, legacy: UpstreamServer) -> Iterator[DataPlaneProcess]:
    dataplane = start_dataplane(tmp_path / "home", store, legacy.url, workers=2)
    yield dataplane
    dataplane.process.stop()


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx2.get(f"{url}/_strangler/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _wait_for(predicate, *, timeout: float = 10.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _send(url: str, path: str, count: int) -> None:
    for _ in range(count):
        with httpx2.Client() as client:  # a new connection each time: both workers serve some
            client.get(f"{url}{path}")


def test_counts_and_latency_histograms_merge_all_workers(stack) -> None:
    _send(stack.url, "/echo/ok", 40)
    _send(stack.url, "/status/404", 20)
    ok = ("strangler_requests_total", (("route", "-"), ("status_class", "2xx"), ("target", "legacy")))
    missing = ("strangler_requests_total", (("route", "-"), ("status_class", "4xx"), ("target", "legacy")))
    count = ("strangler_request_duration_seconds_count", (("route", "-"), ("target", "legacy")))

    def complete() -> bool:
        samples = _samples(stack.internal_url)
        return (samples.get(ok), samples.get(missing), samples.get(count)) == (40, 20, 60)

    # each worker refreshes its snapshot every 0.2 s: wait for the last one
    _wait_for(complete, what="40 2xx and 20 4xx in the metrics")
    samples = _samples(stack.internal_url)
    inf_bucket = (
        "strangler_request_duration_seconds_bucket",
        (("le", "+Inf"), ("route", "-"), ("target", "legacy")),
    )
    assert samples[inf_bucket] == 60
    workers = {labels for name, labels in samples if name == "strangler_route_table_version"}
    assert len(workers) == 2


def test_in_flight_gauge_counts_requests_being_served(stack, legacy) -> None:
    threads = [threading.Thread(target=_send, args=(stack.url, "/slow?ms=2000", 1)) for _ in range(3)]
    for thread in threads:
        thread.start()
    gauge = ("strangler_requests_in_flight", (("route", "-"), ("target", "legacy")))
    try:
        legacy.wait_in_flight(3)
        _wait_for(lambda: _samples(stack.internal_url).get(gauge) == 3, what="3 requests in flight")
    finally:
        for thread in threads:
            thread.join()
    _wait_for(lambda: _samples(stack.internal_url).get(gauge) == 0, what="no request in flight")


def test_per_second_aggregates_reach_the_store(stack, store) -> None:
    _send(stack.url, "/echo/stats", 30)
    _send(stack.url, "/status/503", 5)

    def totals() -> tuple[int, int, int]:
        with store.engine.connect() as conn:
            row = conn.execute(
                select(
                    func.coalesce(func.sum(route_stats.c.requests), 0),
                    func.coalesce(func.sum(route_stats.c.status_2xx), 0),
                    func.coalesce(func.sum(route_stats.c.status_5xx), 0),
                ).where(route_stats.c.route == "-", route_stats.c.target == "legacy")
            ).one()
        return tuple(row)  # type: ignore[return-value]

    _wait_for(lambda: totals()[0] == 35, what="35 requests in route_stats")
    assert totals() == (35, 30, 5)
    with store.engine.connect() as conn:
        rows = conn.execute(select(route_stats)).mappings().all()
    assert {row["worker"] for row in rows} == {w["worker"] for w in store.workers()}
    for row in rows:
        assert len(row["latency_buckets"]) == len(LATENCY_BUCKETS_MS)
        assert sum(row["latency_buckets"]) == row["requests"]


def test_access_log_is_json_with_request_id_route_target_version_status_duration(stack) -> None:
    with httpx2.Client(base_url=stack.url) as client:
        client.get("/echo/logged?secret=1", headers={"x-request-id": "log-test-000001"})
    _wait_for(
        lambda: any(e["request_id"] == "log-test-000001" for e in stack.access_log()), what="the log line"
    )
    (entry,) = [e for e in stack.access_log() if e["request_id"] == "log-test-000001"]
    assert entry["method"] == "GET"
    assert entry["path"] == "/echo/logged"  # the query string is never logged
    assert (entry["route"], entry["target"], entry["upstream"], entry["version"]) == (
        "-",
        "legacy",
        "legacy",
        0,
    )
    assert entry["status"] == 200
    assert entry["duration_ms"] > 0
