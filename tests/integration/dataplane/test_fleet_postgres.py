"""Two data planes (two homes, ports and instance names) on one PostgreSQL store, one of them reaching
the store through a TCP forwarder the test stops: the cut one keeps serving its last table and says
so in /readyz, the control plane lists it as stale (what it serves and since when) instead of dropping
it, it converges when the store returns, and restarted during the outage it serves its kept table
(never the bootstrap one) with /readyz failing until the store confirms the current version."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import insert, text

from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
from strangler_proxy.routes import LEGACY, Rule, RuleAction, RuleMatch, Upstream
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import dataplane_workers
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_upstream, table
from tests.support.net import free_port
from tests.support.processes import start_process
from tests.support.servers import POSTGRES_HOST, POSTGRES_PORT
from tests.support.tcp_forwarder import TcpForwarder

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class PostgresStore(Store):
    """The harness's store (publish, workers) on a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._author, self._reason = "test", "test"
        self.engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        metadata.create_all(self.engine)


def _start(
    home: Path,
    store_url: str,
    legacy_url: str,
    name: str,
    *,
    ready: bool,
    workers: int = 1,
    agent: str = "true",
) -> DataPlaneProcess:
    port, internal_port = free_port(), free_port()
    env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_STORE_URL": store_url,
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_INSTANCE_NAME": name,
        "STRANGLER_DATAPLANE_PORT": str(port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
        "STRANGLER_DATAPLANE_WORKERS": str(workers),
        "STRANGLER_STORE_AGENT": agent,
        "STRANGLER_ACCESS_LOG": "false",
        "STRANGLER_DEBUG_HEADERS": "true",
        "STRANGLER_STATS_INTERVAL_S": "0.2",
    }
    probe = "readyz" if ready else "healthz"
    base = f"http://127.0.0.1:{internal_port if ready else port}"
    process = start_process(
        [sys.executable, "-m", "strangler_proxy.dataplane"],
        log_path=home / "logs" / "dataplane.log",
        env=env,
        ready_url=f"{base}/_strangler/{probe}",
    )
    return DataPlaneProcess(port, home, process, internal_port)


def until(condition: Callable[[], bool], *, timeout: float) -> None:
    """Poll ``condition`` (a readiness check, every 50 ms) until true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _served(dataplane: DataPlaneProcess) -> int:
    return httpx.get(f"{dataplane.internal_url}/_strangler/version", timeout=5).json()["version"]


def _readyz(dataplane: DataPlaneProcess) -> tuple[int, dict]:
    answer = httpx.get(f"{dataplane.internal_url}/_strangler/readyz", timeout=5)
    return answer.status_code, answer.json()


def _by_instance(service: ObservabilityService) -> dict[str, dict]:
    return {w["instance"]: w for w in service.workers()["workers"]}


@pytest.fixture
def fleet(postgres_url: str, tmp_path: Path) -> Iterator[tuple[PostgresStore, TcpForwarder, str]]:
    store = PostgresStore(postgres_url)
    forwarder = TcpForwarder((POSTGRES_HOST, POSTGRES_PORT), free_port()).start()
    cut_url = postgres_url.replace(f"{POSTGRES_HOST}:{POSTGRES_PORT}", f"127.0.0.1:{forwarder.port}")
    try:
        yield store, forwarder, cut_url
    finally:
        forwarder.stop()
        store.engine.dispose()


def test_a_data_plane_cut_off_the_store_is_shown_stale_keeps_serving_and_converges(
    fleet: tuple[PostgresStore, TcpForwarder, str], tmp_path: Path
) -> None:
    store, forwarder, cut_url = fleet
    legacy = start_upstream("legacy", tmp_path)
    new = start_upstream("new", tmp_path)
    upstreams = [Upstream(name=LEGACY, url=legacy.url), Upstream(name="svc", url=new.url)]
    to = lambda mode: table(  # noqa: E731
        upstreams, [Rule(name="x", match=RuleMatch(path="/x"), action=RuleAction(mode=mode, upstream="svc"))]
    )
    first = store.publish(to("new"))
    near = _start(tmp_path / "host-a", store.url, legacy.url, "host-a", ready=True)
    far = _start(tmp_path / "host-b", cut_url, legacy.url, "host-b", ready=True)
    control = ObservabilityService(store.engine, worker_silent_s=1.0)
    try:
        store.wait_applied(first, workers=2)
        assert set(_by_instance(control)) == {"host-a", "host-b"}  # worker ids name the data plane
        assert (tmp_path / "host-b" / "run" / "dataplane-table.json").is_file()

        forwarder.stop()
        second = store.publish(to("legacy"))
        until(lambda: _served(near) == second, timeout=10)
        until(lambda: _readyz(far)[1]["status"] == "degraded", timeout=10)
        status, body = _readyz(far)
        assert status == 200 and "store unreachable" in body["checks"]["route_table"]
        assert f"serving version {first}" in body["checks"]["route_table"]
        assert _served(far) == first  # split brain, but visible
        answer = httpx.get(f"{far.url}/x", timeout=5)
        assert (
            answer.headers["x-strangler-version"] == str(first)
            and answer.headers["x-strangler-target"] == "new"
        )
        until(lambda: _by_instance(control)["host-b"]["state"] == "stale", timeout=10)
        view = _by_instance(control)
        assert view["host-a"]["state"] == "serving" and view["host-a"]["version"] == second
        assert view["host-b"]["version"] == first
        assert view["host-b"]["detail"].startswith(f"serving v{first} since ")
        assert "store unreachable" in view["host-b"]["detail"]

        forwarder.start()
        until(lambda: _served(far) == second, timeout=20)
        until(lambda: _readyz(far)[1]["status"] == "ready", timeout=20)
        until(lambda: _by_instance(control)["host-b"]["state"] == "serving", timeout=10)

        # Restarted while the store is unreachable: the kept table, not the bootstrap one; not ready.
        far.process.stop()
        forwarder.stop()
        third = store.publish(to("new"))
        far = _start(tmp_path / "host-b", cut_url, legacy.url, "host-b", ready=False)
        answer = httpx.get(f"{far.url}/x", timeout=5)
        assert answer.headers["x-strangler-version"] == str(second)
        assert answer.headers["x-strangler-target"] == "legacy"
        status, body = _readyz(far)
        assert status == 503 and "kept in the home" in body["checks"]["route_table"]
        forwarder.start()
        until(lambda: _readyz(far)[0] == 200, timeout=20)
        assert _served(far) == third
    finally:
        near.process.stop()
        far.process.stop()
        legacy.process.stop()
        new.process.stop()


def test_worker_rows_silent_past_the_prune_time_are_deleted(fleet, tmp_path: Path) -> None:
    store, _, _ = fleet
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with store.engine.begin() as conn:
        conn.execute(insert(dataplane_workers).values(worker="gone:1", pid=1, heartbeat_at=long_ago))
    legacy = start_upstream("legacy", tmp_path)
    version = store.publish(table([Upstream(name=LEGACY, url=legacy.url)]))
    live = _start(tmp_path / "host-c", store.url, legacy.url, "host-c", ready=True)
    try:
        store.wait_applied(version, workers=1)
        until(lambda: [w["worker"].split(":")[0] for w in store.workers()] == ["host-c"], timeout=10)
    finally:
        live.process.stop()
        legacy.process.stop()


def _connections(store: PostgresStore) -> int:
    """Connections to the store's database other than the test's own."""
    with store.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()


@pytest.mark.parametrize(("agent", "expected"), [("true", 2), ("false", 6)])
def test_one_connection_set_per_host_with_the_store_agent(
    fleet: tuple[PostgresStore, TcpForwarder, str], tmp_path: Path, agent: str, expected: int
) -> None:
    """Three workers: through the host's store agent, two connections (its store client and its
    LISTEN) whatever the number of workers; without it, two per worker. Publishes reach every worker
    either way, and the figures of each worker arrive."""
    store, _, _ = fleet
    legacy = start_upstream("legacy", tmp_path)
    first = store.publish(table([Upstream(name=LEGACY, url=legacy.url)]))
    host = _start(tmp_path / "host", store.url, legacy.url, "host", ready=True, workers=3, agent=agent)
    try:
        store.wait_applied(first, workers=3)
        store.engine.dispose()  # the test's pool holds none while counting
        until(lambda: _connections(store) == expected, timeout=10)
        second = store.publish(
            table([Upstream(name=LEGACY, url=legacy.url)], [Rule(name="r", match=RuleMatch(path="/r"))])
        )
        store.wait_applied(second, workers=3)
        for _ in range(30):
            assert httpx.get(f"{host.url}/r", timeout=5).headers["x-strangler-route"] == "r"
        for i in range(12):  # unmatched: counted by path shape, written at the latest when a worker stops
            assert httpx.get(f"{host.url}/shop/{i}", timeout=5).headers["x-strangler-route"] == "-"
        until(lambda: _stat_requests(store) >= 30, timeout=10)
        assert _connections(store) == expected
        host.process.stop(timeout=40)  # SIGTERM to the whole group, the agent included
        assert store.workers() == []  # every worker removed its row through the agent before it stopped
        assert _unmatched_paths(store) == {"/shop/{int}": 12}
    finally:
        host.process.stop()
        legacy.process.stop()


def _unmatched_paths(store: PostgresStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT path, sum(requests) FROM unmatched_paths GROUP BY path"))
        return {str(path): int(requests) for path, requests in rows}


def _stat_requests(store: PostgresStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            text("SELECT coalesce(sum(requests), 0) FROM route_stats WHERE route = 'r'")
        ).scalar_one()
