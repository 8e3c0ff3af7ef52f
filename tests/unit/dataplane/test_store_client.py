"""The worker's DB-API store client: SQL in one module matching the schema, values written the way
the control plane's SQLAlchemy tables read them back, and no SQLAlchemy in a worker."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from strangler_proxy.controlplane.repositories.versions import (
    active_pointer,
    create_pointer,
    insert_version,
    swap_pointer,
)
from strangler_proxy.dataplane import store_sql
from strangler_proxy.dataplane.stats import LATENCY_BUCKETS_MS, RequestStats
from strangler_proxy.dataplane.store_client import StoreClient, dialect_of
from strangler_proxy.dataplane.store_writer import StoreWriter
from strangler_proxy.routes import LEGACY, RouteTable, Upstream
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import dataplane_workers, route_stats

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(store_sql.statements("sqlite")))
def test_every_statement_names_existing_tables_and_columns(name: str) -> None:
    sql = store_sql.statements("sqlite")[name]
    table_name = re.search(r"(?:FROM|INTO|UPDATE)\s+(\w+)", sql).group(1)  # type: ignore[union-attr]
    table = metadata.tables[table_name]
    words = set(re.findall(r"\b[a-z_0-9]+\b", sql)) - {table_name}
    columns = {w for w in words if not w.isdigit()}
    assert columns <= set(table.c.keys()), columns - set(table.c.keys())
    assert sql.count("?") == store_sql.statements("postgresql")[name].count("%s")


def publish_then_swap(engine: Engine) -> tuple[int, int]:
    """The control plane's writes of the pointer: a first version, then a swap to a second one."""
    table = RouteTable(upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")})
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = insert_version(conn, table, author="t", reason="t", parent_id=None, now=now).version
        create_pointer(conn, first, now=now)
        second = insert_version(conn, table, author="t", reason="t", parent_id=first, now=now).version
        assert swap_pointer(conn, expected=first, new=second, now=now + timedelta(seconds=1)) == 2
    return first, second


def test_the_worker_reads_the_pointer_the_control_plane_reads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    client = StoreClient(url)
    try:
        assert client.pointer() is None
        first, second = publish_then_swap(engine)
        with engine.connect() as conn:
            expected = active_pointer(conn)
        assert expected is not None and (expected.version_id, expected.previous_version_id) == (second, first)
        assert client.pointer() == expected
    finally:
        client.close()
        engine.dispose()


def test_dialects_by_url() -> None:
    assert dialect_of("sqlite:////tmp/x.sqlite3") == "sqlite"
    assert dialect_of("postgresql+psycopg://u@h/db") == "postgresql"
    with pytest.raises(ValueError, match="mysql"):
        dialect_of("mysql://u@h/db")


def test_rows_written_by_the_client_read_back_through_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    client = StoreClient(url)
    writer = StoreWriter(client, worker="host:7", pid=7)
    applied = datetime.now(UTC) - timedelta(seconds=1)
    writer.heartbeat(version_id=3, generation=5, applied_at=applied)
    writer.heartbeat(version_id=None, generation=None, applied_at=None)  # heartbeat only: version kept
    stats = RequestStats()
    stats.record(("cart", "legacy"), 200, 0.003)
    stats.record(("cart", "legacy"), 503, 0.040)
    assert writer.write_stats(stats.drain(include_current=True)) == 1
    with engine.connect() as conn:
        row = conn.execute(select(route_stats)).mappings().one()
        worker = conn.execute(select(dataplane_workers)).mappings().one()
    assert (row["worker"], row["requests"], row["status_2xx"], row["status_5xx"]) == ("host:7", 2, 1, 1)
    assert row["latency_buckets"][LATENCY_BUCKETS_MS.index(5)] == 1 and sum(row["latency_buckets"]) == 2
    assert (worker["pid"], worker["version_id"], worker["generation"]) == (7, 3, 5)
    applied_back = worker["applied_at"].replace(tzinfo=UTC)
    assert abs(applied_back - applied) < timedelta(milliseconds=1)
    assert worker["heartbeat_at"].replace(tzinfo=UTC) > applied_back
    writer.forget()
    with engine.connect() as conn:
        assert conn.execute(select(dataplane_workers)).first() is None
    client.close()
    engine.dispose()


def test_a_failed_call_drops_the_connection_and_the_next_one_reconnects(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    client = StoreClient(url)
    with pytest.raises(Exception, match="active_route_table"):
        client.pointer()  # no tables yet
    engine = make_engine(url)
    metadata.create_all(engine)
    assert client.pointer() is None
    client.close()
    engine.dispose()


def test_a_worker_imports_neither_sqlalchemy_nor_the_comparison_code() -> None:
    """Of the store, a worker imports only its SQLAlchemy-free modules (the pointer, the histogram)."""
    code = (
        "import sys, strangler_proxy.dataplane.__main__, strangler_proxy.dataplane.app;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')"
        " or (m.startswith('strangler_proxy.store') and m not in ('strangler_proxy.store',"
        " 'strangler_proxy.store.pointer', 'strangler_proxy.store.histogram'))"
        " or m.startswith(('strangler_proxy.dataplane.shadow.mirror',"
        " 'strangler_proxy.dataplane.shadow.sinks')));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_untouched_sqlite_store_lets_the_poll_be_skipped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    client = StoreClient(url)
    assert client.may_have_changed() is True  # first look
    assert client.may_have_changed() is False
    StoreWriter(client, worker="host:1", pid=1).heartbeat(version_id=None, generation=None, applied_at=None)
    assert client.may_have_changed() is True  # a commit touched the files
    assert client.may_have_changed() is False
    assert StoreClient("postgresql://u@127.0.0.1:1/db").may_have_changed() is True
    client.close()
    engine.dispose()


def test_unmatched_path_shapes_reach_the_control_plane_by_the_client_and_by_the_agent(
    tmp_path: Path,
) -> None:
    from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
    from strangler_proxy.dataplane.store_agent import StoreAgent
    from strangler_proxy.dataplane.store_client import path_values
    from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    client = StoreClient(url)
    now = int(time.time())
    counter = UnmatchedPaths(top=10)
    stats = RequestStats(clock=lambda: now - 2)
    for i in range(6):
        counter.add(f"/products/{i}/")
        stats.record(("-", "legacy"), 200, 0.001)
    for _ in range(3):
        counter.add("/cart/")
        stats.record(("-", "legacy"), 200, 0.001)
    stats.record(("-", "legacy"), 404, 0.001)  # the request worker host:8 reports below
    shapes, total = counter.drain()
    assert total == 9
    writer = StoreWriter(client, worker="host:7", pid=7)
    writer.write_stats(stats.drain(include_current=True))
    assert writer.write_unmatched_paths(now - 2, shapes) == 2
    agent = StoreAgent(client, poll_interval_s=1.0)
    values = path_values("host:8", now - 1, [("/cart/", 1)])
    assert agent.answer({"op": "unmatched_paths", "values": values}) == {"ok": True, "written": 1}
    service = ObservabilityService(engine, seconds=lambda: now + 0.5)
    found = service.unmatched_paths(window_s=60)
    assert found["paths"] == [
        {"path": "/products/{int}/", "requests": 6},
        {"path": "/cart/", "requests": 4},
    ]
    assert (found["unmatched_requests"], found["unattributed"]) == (10, 0)
    assert service.unmatched_paths(window_s=60, limit=1)["unattributed"] == 4
    assert service.prune(retention_s=0) >= 3
    assert service.unmatched_paths(window_s=60)["paths"] == []
    client.close()
    engine.dispose()
