"""The data plane's store access on PostgreSQL: the active-version poll, stats rows, the worker row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select, text, update

from strangler_proxy.controlplane.repositories.versions import active_pointer
from strangler_proxy.dataplane.live import LiveTable, ServedTable, TablePoller, bootstrap_table
from strangler_proxy.dataplane.notify import NOTIFY_CHANNEL, ChangeListener
from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.store_client import StoreClient
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.routes import LEGACY, RouteTable, Rule, RuleMatch, Upstream
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import active_route_table, dataplane_workers, route_stats, route_versions
from tests.support.waiting import until
from tests.unit.dataplane.test_store_client import publish_then_swap

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_poll_stats_and_heartbeat_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    client = StoreClient(postgres_url)
    try:
        table = RouteTable(
            upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")},
            rules=(Rule(name="cart", match=RuleMatch(path="/cart")),),
        )
        now = datetime.now(UTC)
        with engine.begin() as conn:
            version = conn.execute(
                insert(route_versions).values(
                    document=table.to_json(), author="t", reason="t", created_at=now
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(active_route_table).values(id=1, version_id=version, generation=7, changed_at=now)
            )
        applied: list[ServedTable] = []
        live = LiveTable(ServedTable.build(compile_table(bootstrap_table("http://127.0.0.1:8100")), None))
        poller = TablePoller(client, live, compile_table, interval_s=0.05, on_applied=applied.append)
        assert poller.poll_once() and live.current.version == version and live.current.generation == 7
        with engine.begin() as conn:
            conn.execute(
                update(active_route_table).values(generation=8)
            )  # a rollback re-points: new generation
        assert poller.poll_once() and live.current.generation == 8

        writer = StoreWriter(client, worker="host:1", pid=1)
        writer.heartbeat(version_id=version, generation=8, applied_at=live.applied_at)
        writer.heartbeat(version_id=version, generation=8, applied_at=None)  # heartbeat only
        stats = RequestStats()
        stats.record(("cart", "legacy"), 200, 0.003)
        stats.record(("cart", "legacy"), 502, 0.003)
        assert writer.write_stats(stats.drain(include_current=True)) == 1
        with engine.connect() as conn:
            row = conn.execute(select(route_stats)).mappings().one()
            worker = conn.execute(select(dataplane_workers)).mappings().one()
        assert (row["requests"], row["status_2xx"], row["status_5xx"]) == (2, 1, 1)
        assert sum(row["latency_buckets"]) == 2
        assert (worker["version_id"], worker["generation"]) == (version, 8)
        assert worker["applied_at"] is not None and worker["heartbeat_at"] >= worker["applied_at"]
        writer.forget()
        with engine.connect() as conn:
            assert conn.execute(select(dataplane_workers)).first() is None
    finally:
        client.close()
        engine.dispose()


def test_the_worker_reads_the_pointer_the_control_plane_reads_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    client = StoreClient(postgres_url)
    try:
        publish_then_swap(engine)
        with engine.connect() as conn:
            expected = active_pointer(conn)
        assert expected is not None and client.pointer() == expected
    finally:
        client.close()
        engine.dispose()


def _publish(engine: Engine, table: RouteTable, *, notify: bool) -> int:
    """The control plane's swap: a new version, the pointer's generation bumped, then NOTIFY."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        version = conn.execute(
            insert(route_versions).values(document=table.to_json(), author="t", reason="t", created_at=now)
        ).inserted_primary_key[0]
        generation = conn.execute(select(active_route_table.c.generation)).scalar_one_or_none()
        if generation is None:
            generation = 1
            conn.execute(
                insert(active_route_table).values(
                    id=1, version_id=version, generation=generation, changed_at=now
                )
            )
        else:
            generation += 1
            conn.execute(update(active_route_table).values(version_id=version, generation=generation))
        if notify:
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": str(generation)})
    return int(version)


def test_notifications_wake_the_poller_and_the_listener_reconnects(postgres_url: str) -> None:
    """With a fallback poll of a minute, only NOTIFY can make the worker apply a version in time."""
    engine = make_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    client = StoreClient(postgres_url)
    legacy = {LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")}
    first = _publish(engine, RouteTable(upstreams=legacy), notify=False)

    async def scenario() -> ChangeListener:
        live = LiveTable(ServedTable.build(compile_table(bootstrap_table("http://127.0.0.1:8100")), None))
        poller = TablePoller(client, live, compile_table, interval_s=0.05, fallback_s=60.0)
        listener = ChangeListener(postgres_url, poller.wake_threadsafe)
        task = asyncio.get_running_loop().create_task(poller.run(listening=lambda: listener.listening))
        try:
            await until(lambda: live.current.version == first, "first version (first poll)")
            listener.start()
            await until(lambda: listener.listening, "LISTEN")
            rules = (Rule(name="cart", match=RuleMatch(path="/cart")),)
            second = await asyncio.to_thread(
                _publish, engine, RouteTable(upstreams=legacy, rules=rules), notify=True
            )
            await until(lambda: live.current.version == second, "second version (notified)")
            with engine.begin() as conn:  # the listener's connection is cut: it must come back
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                    )
                )
            await until(lambda: listener.connections >= 2 and listener.listening, "reconnection")
            third = await asyncio.to_thread(_publish, engine, RouteTable(upstreams=legacy), notify=True)
            await until(lambda: live.current.version == third, "third version (after reconnecting)")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.to_thread(listener.stop)
        return listener

    try:
        listener = asyncio.run(scenario())
        assert listener.notifications >= 2 and not listener.listening
    finally:
        client.close()
        engine.dispose()
