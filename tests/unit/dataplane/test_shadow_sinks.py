"""Shadow sinks: per-second counts and the most recent diff samples reach the store, off the request path."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from strangler_proxy.dataplane.shadow import MemoryShadowSink, ShadowOutcome, ShadowSample, StoreShadowSink
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import shadow_counts, shadow_samples

pytestmark = pytest.mark.unit


def sample(route: str, n: int) -> ShadowSample:
    return ShadowSample(
        at=datetime(2026, 1, 1, tzinfo=UTC),
        route=route,
        version=4,
        request_id=f"req-{n}",
        method="GET",
        path=f"/api/products/{n}",
        legacy_status=200,
        new_status=500,
        diff=f"status: legacy 200, new 500 ({n})",
    )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def counts(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                shadow_counts.c.second,
                shadow_counts.c.worker,
                shadow_counts.c.route,
                shadow_counts.c.matches,
                shadow_counts.c.mismatches,
                shadow_counts.c.errors,
            ).order_by(shadow_counts.c.second, shadow_counts.c.route)
        )
        return [tuple(row) for row in rows]


def kept_requests(engine: Engine, route: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(shadow_samples.c.request_id)
            .where(shadow_samples.c.route == route)
            .order_by(shadow_samples.c.id)
        )
        return [row[0] for row in rows]


def test_counts_are_aggregated_per_second_and_route(engine) -> None:
    clock = Clock(1000.2)
    sink = StoreShadowSink(engine, "host:1", clock=clock)
    sink.record("products", 4, ShadowOutcome.MATCH, None)
    sink.record("products", 4, ShadowOutcome.MATCH, None)
    sink.record("products", 4, ShadowOutcome.MISMATCH, sample("products", 1))
    sink.record("orders", 4, ShadowOutcome.ERROR, sample("orders", 2))
    clock.now = 1001.7
    sink.record("products", 4, ShadowOutcome.MATCH, None)
    asyncio.run(sink.flush())
    assert counts(engine) == [
        (1000, "host:1", "orders", 0, 0, 1),
        (1000, "host:1", "products", 2, 1, 0),
        (1001, "host:1", "products", 1, 0, 0),
    ]
    assert kept_requests(engine, "products") == ["req-1"]


def test_a_second_flushed_twice_adds_up(engine) -> None:
    sink = StoreShadowSink(engine, "host:1", clock=Clock(50.0))
    sink.record("products", 4, ShadowOutcome.MATCH, None)
    asyncio.run(sink.flush())
    sink.record("products", 4, ShadowOutcome.MATCH, None)
    sink.record("products", 4, ShadowOutcome.ERROR, None)
    asyncio.run(sink.flush())
    assert counts(engine) == [(50, "host:1", "products", 2, 0, 1)]


def test_workers_keep_their_own_rows(engine) -> None:
    for worker in ("host:1", "host:2"):
        sink = StoreShadowSink(engine, worker, clock=Clock(50.0))
        sink.record("products", 4, ShadowOutcome.MISMATCH, None)
        asyncio.run(sink.flush())
    assert [row[1] for row in counts(engine)] == ["host:1", "host:2"]


def test_only_the_most_recent_samples_per_route_are_kept(engine) -> None:
    sink = StoreShadowSink(engine, "host:1", max_samples_per_route=5, clock=Clock(50.0))
    for n in range(4):
        sink.record("products", 4, ShadowOutcome.MISMATCH, sample("products", n))
    sink.record("orders", 4, ShadowOutcome.MISMATCH, sample("orders", 100))
    asyncio.run(sink.flush())
    for n in range(4, 12):
        sink.record("products", 4, ShadowOutcome.MISMATCH, sample("products", n))
    asyncio.run(sink.flush())
    assert kept_requests(engine, "products") == [f"req-{n}" for n in range(7, 12)]
    assert kept_requests(engine, "orders") == ["req-100"]


def test_a_failed_flush_keeps_the_results_for_the_next(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    sink = StoreShadowSink(engine, "host:1", clock=Clock(50.0))
    sink.record("products", 4, ShadowOutcome.MISMATCH, sample("products", 1))
    with pytest.raises(Exception, match="no such table"):
        asyncio.run(sink.flush())
    metadata.create_all(engine)
    asyncio.run(sink.flush())
    assert counts(engine) == [(50, "host:1", "products", 0, 1, 0)]
    assert kept_requests(engine, "products") == ["req-1"]
    engine.dispose()


def test_while_the_store_is_away_only_the_most_recent_seconds_are_kept(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    clock = Clock(100.0)
    sink = StoreShadowSink(engine, "host:1", clock=clock, max_pending=3)
    for second in range(100, 105):
        clock.now = second
        sink.record("products", 4, ShadowOutcome.MATCH, None)
        with pytest.raises(Exception, match="no such table"):
            asyncio.run(sink.flush())
    metadata.create_all(engine)
    asyncio.run(sink.flush())
    assert [row[0] for row in counts(engine)] == [102, 103, 104]
    engine.dispose()


def test_the_background_flush_writes_without_being_asked(engine) -> None:
    async def scenario() -> None:
        sink = StoreShadowSink(engine, "host:1", flush_interval_s=0.01, clock=Clock(60.0))
        sink.start()
        sink.record("products", 4, ShadowOutcome.MATCH, None)
        async with asyncio.timeout(10):
            while not await asyncio.to_thread(counts, engine):
                await asyncio.sleep(0.01)
        sink.record("products", 4, ShadowOutcome.MATCH, None)
        await sink.aclose()

    asyncio.run(scenario())
    assert counts(engine) == [(60, "host:1", "products", 2, 0, 0)]


@pytest.mark.postgres
def test_the_store_sink_works_on_postgresql(postgres_url) -> None:
    engine = make_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        metadata.create_all(engine)
        sink = StoreShadowSink(engine, "host:1", max_samples_per_route=2, clock=Clock(70.0))
        for n in range(3):
            sink.record("products", 4, ShadowOutcome.MISMATCH, sample("products", n))
        asyncio.run(sink.flush())
        sink.record("products", 4, ShadowOutcome.MATCH, None)
        asyncio.run(sink.flush())
        assert counts(engine) == [(70, "host:1", "products", 1, 3, 0)]
        assert kept_requests(engine, "products") == ["req-1", "req-2"]
    finally:
        engine.dispose()


def test_the_memory_sink_counts_keeps_samples_and_can_be_awaited() -> None:
    async def scenario() -> MemoryShadowSink:
        sink = MemoryShadowSink(max_samples_per_route=2)
        loop = asyncio.get_running_loop()
        for n in range(3):
            loop.call_soon(sink.record, "products", 4, ShadowOutcome.MISMATCH, sample("products", n))
        await sink.wait_for(3, timeout=5)
        with pytest.raises(TimeoutError):
            await sink.wait_for(4, timeout=0.05)
        return sink

    sink = asyncio.run(scenario())
    assert sink.counts["products", ShadowOutcome.MISMATCH] == 3
    assert [s.request_id for s in sink.samples["products"]] == ["req-1", "req-2"]


def test_the_new_sides_answers_to_the_mirrors_reach_route_stats_once_their_second_is_over(engine) -> None:  # type: ignore[no-untyped-def]
    from strangler_proxy.store.schema import route_stats

    clock = Clock(100.2)
    sink = StoreShadowSink(engine, "shadow-1", clock=clock)
    for latency in (0.004, 0.008, 0.150):
        sink.record("catalog", 4, ShadowOutcome.MATCH, None, new_status=200, new_latency_s=latency)
    sink.record("catalog", 4, ShadowOutcome.ERROR, None)  # no answer: no timing

    def rows() -> list[tuple]:
        with engine.connect() as conn:
            query = select(
                route_stats.c.second,
                route_stats.c.target,
                route_stats.c.requests,
                route_stats.c.status_2xx,
                route_stats.c.latency_buckets,
            )
            return [tuple(row) for row in conn.execute(query)]

    asyncio.run(sink.flush())
    assert rows() == []  # second 100 is not over yet
    clock.now = 101.0
    asyncio.run(sink.flush())
    [(second, target, requests, ok, buckets)] = rows()
    assert (second, target, requests, ok) == (100, "shadow", 3, 3)
    assert sum(buckets) == 3 and buckets[2] == buckets[3] == buckets[7] == 1  # <= 5, 10, 200 ms
    assert counts(engine) == [(100, "shadow-1", "catalog", 3, 0, 1)]
