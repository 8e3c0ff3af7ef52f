"""The bounded record of a worker's recent failing requests, and its way to the control plane."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
from strangler_proxy.dataplane.failing_requests import (
    PROXY_FAULT,
    UPSTREAM_STATUS,
    FailingRequests,
    entries,
    trace_id_of,
)
from strangler_proxy.dataplane.store_agent import StoreAgent
from strangler_proxy.dataplane.store_client import StoreClient, failure_values
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.store import make_engine, metadata

pytestmark = pytest.mark.unit

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _add(record: FailingRequests, route: str, n: int, *, status: int = 502, failure: str = "x") -> None:
    record.add(route, "new", "GET", f"/orders/{n}", status, failure, "orders", 3, f"req-{n}", TRACEPARENT)


def test_each_route_keeps_its_last_failing_requests_only() -> None:
    record = FailingRequests(per_route=3)
    for n in range(10):
        _add(record, "orders", n)
    _add(record, "cart", 99)
    assert record.seen == 11
    drained = entries(record.drain())
    assert [(e.route, e.request_id) for e in drained] == [
        ("orders", "req-7"),
        ("orders", "req-8"),
        ("orders", "req-9"),
        ("cart", "req-99"),
    ]
    assert record.drain() == [] and record.seen == 0


def test_an_entry_has_the_path_shape_the_trace_id_and_never_more_than_its_columns() -> None:
    record = FailingRequests(clock=lambda: 1_700_000_000.25)
    record.add("orders", "new", "X" * 40, "/orders/42/items", 504, "upstream_timeout", "u" * 100, 7,
               "r" * 200, TRACEPARENT)  # fmt: skip
    record.add("orders", "legacy", "GET", "/orders/", 500, "", "legacy", 7, "req", "not-a-traceparent")
    first, second = entries(record.drain())
    assert (first.path, first.status, first.failure, first.version) == (
        "/orders/{int}/items",
        504,
        "upstream_timeout",
        7,
    )
    assert (len(first.method), len(first.upstream), len(first.request_id)) == (16, 64, 64)
    assert first.trace_id == TRACE_ID and first.at == 1_700_000_000.25
    assert (second.failure, second.trace_id) == (UPSTREAM_STATUS, None)


def test_an_unhandled_error_is_a_proxy_fault_and_a_cancelled_request_no_failure() -> None:
    record = FailingRequests()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.add("orders", "new", "GET", "/orders/1", 0, "", "orders", 1, "req-1", TRACEPARENT)
    try:
        raise asyncio.CancelledError
    except asyncio.CancelledError:
        record.add("orders", "new", "GET", "/orders/2", 0, "", "orders", 1, "req-2", TRACEPARENT)
    record.add("orders", "new", "GET", "/orders/3", 0, "", "orders", 1, "req-3", TRACEPARENT)
    (only,) = entries(record.drain())
    assert (only.request_id, only.status, only.failure) == ("req-1", 500, PROXY_FAULT)


def test_per_route_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FailingRequests(per_route=0)


def test_trace_id_of_a_traceparent() -> None:
    assert trace_id_of(TRACEPARENT) == TRACE_ID
    assert trace_id_of("") is None


def test_failing_requests_reach_the_control_plane_by_the_client_and_by_the_agent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    client = StoreClient(url)
    now = time.time()
    record = FailingRequests(clock=lambda: now - 2)
    _add(record, "orders", 1, failure="upstream_unreachable")
    _add(record, "orders", 2, status=500, failure="")
    _add(record, "cart", 3, status=503, failure="circuit_open")
    writer = StoreWriter(client, worker="host:7", pid=7)
    assert writer.write_failing_requests(entries(record.drain())) == 3
    agent = StoreAgent(client, poll_interval_s=1.0)
    late = FailingRequests(clock=lambda: now - 1)
    _add(late, "orders", 4, status=504, failure="upstream_timeout")
    values = failure_values("host:8", entries(late.drain()))
    assert agent.answer({"op": "failing_requests", "values": values}) == {"ok": True, "written": 1}
    service = ObservabilityService(engine, seconds=lambda: now)
    found = service.failing_requests(route="orders")
    assert [(f["request_id"], f["status"], f["failure"], f["worker"]) for f in found] == [
        ("req-4", 504, "upstream_timeout", "host:8"),
        ("req-2", 500, UPSTREAM_STATUS, "host:7"),
        ("req-1", 502, "upstream_unreachable", "host:7"),
    ]
    assert found[0]["path"] == "/orders/{int}" and found[0]["trace_id"] == TRACE_ID
    assert [f["route"] for f in service.failing_requests(limit=10)].count("cart") == 1
    assert service.prune(retention_s=0) >= 4
    assert service.failing_requests() == []
    client.close()
    engine.dispose()
