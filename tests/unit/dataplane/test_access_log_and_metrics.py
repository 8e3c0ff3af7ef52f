"""The buffered JSON access log, and Prometheus text merged from worker snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from strangler_proxy.dataplane.access_log import AccessLog, format_entry
from strangler_proxy.dataplane.metrics import render_metrics, write_snapshot
from strangler_proxy.dataplane.stats import RequestStats

pytestmark = pytest.mark.unit


def test_access_log_writes_valid_json_lines_only_when_flushed(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "access.log"
    log = AccessLog(path)
    log.open()
    log.record(
        "rid-1", "GET", '/a"b\\c\n\u00e9', "products", "new", "catalog", 7, 200, 0.0123, "127.0.0.1", None
    )
    log.record("rid-2", "POST", "/x", "-", "legacy", "legacy", 0, 502, 1.5, "::1", 'upstream "x" failed')
    assert path.read_text() == ""
    log.flush()
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first["path"] == '/a"b\\c\n\u00e9'
    assert (first["route"], first["target"], first["upstream"], first["version"]) == (
        "products",
        "new",
        "catalog",
        7,
    )
    assert first["duration_ms"] == pytest.approx(12.3) and first["error"] is None
    assert second["error"] == 'upstream "x" failed' and second["status"] == 502
    log.close()


def test_times_are_written_with_microsecond_digits() -> None:
    line = format_entry(
        (1700000000.1234567, "rid", "GET", b"/p", "-", "legacy", "legacy", 0, 200, 0.0123456, "::1", None)
    )
    assert '"ts":1700000000.123457,' in line and '"duration_ms":12.346,' in line
    slow = json.loads(
        format_entry((1700000000.0, "rid", "GET", "/p", "-", "legacy", "legacy", 0, 200, 1.5, "::1", None))
    )
    assert (slow["ts"], slow["duration_ms"]) == (1700000000.0, 1500.0)


def test_a_full_buffer_flushes_inline(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = AccessLog(path, max_buffered=3)
    log.open()
    for n in range(3):
        log.record(f"r{n}", "GET", "/", "-", "legacy", "legacy", 0, 200, 0.001, "127.0.0.1", None)
    assert len(path.read_text().splitlines()) == 3
    log.close()


def _stats(ok: int, failed: int) -> RequestStats:
    stats = RequestStats()
    for _ in range(ok):
        stats.record(("products", "new"), 200, 0.004)
    for _ in range(failed):
        stats.record(("products", "new"), 503, 0.2)
    stats.started(("products", "new"))
    return stats


def _samples(text: str) -> dict:  # type: ignore[type-arg]
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_snapshots_of_all_workers_are_summed_and_dead_workers_lose_their_gauges(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    write_snapshot(tmp_path, _stats(3, 1), version=4, breakers={"catalog": "closed"}, pid=os.getpid())
    write_snapshot(tmp_path, _stats(2, 2), version=3, breakers={"catalog": "open"}, pid=dead_pid)
    samples = _samples(render_metrics(tmp_path).decode())
    labels = (("route", "products"), ("target", "new"))
    assert samples[("strangler_requests_total", (*labels[:1], ("status_class", "2xx"), labels[1]))] == 5
    assert samples[("strangler_requests_total", (*labels[:1], ("status_class", "5xx"), labels[1]))] == 3
    assert samples[("strangler_request_duration_seconds_count", labels)] == 8
    assert samples[("strangler_request_duration_seconds_bucket", (("le", "0.005"), *labels))] == 5
    assert samples[("strangler_request_duration_seconds_bucket", (("le", "+Inf"), *labels))] == 8
    assert samples[("strangler_request_duration_seconds_sum", labels)] == pytest.approx(5 * 0.004 + 3 * 0.2)
    assert samples[("strangler_requests_in_flight", labels)] == 1  # the live worker's only
    assert samples[("strangler_route_table_version", (("pid", str(os.getpid())),))] == 4
    assert ("strangler_route_table_version", (("pid", str(dead_pid)),)) not in samples
    assert samples[("strangler_breaker_open", (("pid", str(os.getpid())), ("upstream", "catalog")))] == 0


def test_label_values_are_escaped(tmp_path: Path) -> None:
    stats = RequestStats()
    stats.record(('we"ird\\route', "legacy"), 200, 0.001)
    write_snapshot(tmp_path, stats, version=1, breakers={})
    samples = _samples(render_metrics(tmp_path).decode())
    assert any(dict(labels).get("route") == 'we"ird\\route' for _, labels in samples)
