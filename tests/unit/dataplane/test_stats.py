"""Per-request accounting: totals, per-second windows, in-flight counts."""

from __future__ import annotations

import pytest

from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.store import LATENCY_BUCKETS_MS

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.2

    def __call__(self) -> float:
        return self.now


def test_totals_by_status_class_and_latency_bucket() -> None:
    stats = RequestStats(Clock())
    key = ("products", "new")
    for status, seconds in [(200, 0.0005), (201, 0.003), (404, 0.015), (503, 45.0), (302, 0.001)]:
        stats.started(key)
        stats.finished(key, status, seconds)
    total = stats.totals[key]
    assert total.by_class == [0, 0, 2, 1, 1, 1]
    assert total.requests == 5
    assert total.buckets[LATENCY_BUCKETS_MS.index(1)] == 2  # 0.5 ms and exactly 1 ms
    assert total.buckets[LATENCY_BUCKETS_MS.index(5)] == 1
    assert total.buckets[LATENCY_BUCKETS_MS.index(20)] == 1
    assert total.buckets[-1] == 1  # beyond 30 s
    assert total.latency_sum_ms == pytest.approx(45_019.5)
    assert stats.in_flight[key] == 0


def test_only_completed_seconds_are_drained() -> None:
    clock = Clock()
    stats = RequestStats(clock)
    stats.record(("a", "legacy"), 200, 0.01)
    clock.now += 1
    stats.record(("a", "legacy"), 500, 0.01)
    stats.record(("b", "new"), 200, 0.01)
    rows = stats.drain()
    assert [(r.second, r.route, r.target, r.accumulator.requests) for r in rows] == [(1000, "a", "legacy", 1)]
    rest = stats.drain(include_current=True)
    assert sorted((r.second, r.route, r.accumulator.by_class[5]) for r in rest) == [
        (1001, "a", 1),
        (1001, "b", 0),
    ]
    assert stats.drain(include_current=True) == []
    assert stats.totals[("a", "legacy")].requests == 2  # totals are never drained


def test_unknown_statuses_count_as_server_errors() -> None:
    stats = RequestStats(Clock())
    stats.record(("a", "legacy"), 0, 0.001)
    assert stats.totals[("a", "legacy")].by_class[5] == 1


def test_pending_records_are_folded_inline_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from strangler_proxy.dataplane import stats as stats_module

    monkeypatch.setattr(stats_module, "_FOLD_AT", 10)
    clock = Clock()
    stats = RequestStats(clock)
    for n in range(25):
        stats.record(("a", "legacy"), 200 if n % 5 else 503, 0.002)
        assert len(stats._pending) < 10
    clock.now += 1
    rows = stats.drain()
    assert [(r.second, r.accumulator.by_class[2], r.accumulator.by_class[5]) for r in rows] == [(1000, 20, 5)]
    assert stats.totals[("a", "legacy")].requests == 25
