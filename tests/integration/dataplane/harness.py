"""Real processes for the data-plane tests: upstream servers, a store, and the data plane itself."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from strangler_proxy.routes import LEGACY, RouteTable, Rule, Upstream
from strangler_proxy.store.schema import active_route_table, dataplane_workers
from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process
from tests.support.route_store import DirectStore

__all__ = [
    "DataPlaneProcess",
    "Store",
    "UpstreamServer",
    "dataplane_over",
    "start_dataplane",
    "start_upstream",
    "table",
]


@dataclass
class UpstreamServer:
    name: str
    port: int
    process: RunningProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counters(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
            return json.loads(response.read())

    def wait_in_flight(self, count: int, *, timeout: float = 10.0) -> None:
        """Wait until ``count`` requests (besides the probe) are being handled by this upstream."""
        deadline = time.monotonic() + timeout
        while self.counters()["in_flight"] - 1 < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} never had {count} requests in flight")
            time.sleep(0.01)


def start_upstream(name: str, log_dir: Path) -> UpstreamServer:
    port = free_port()
    process = start_process(
        [
            sys.executable,
            "-m",
            "tests.integration.dataplane.upstream_app",
            "--port",
            str(port),
            "--name",
            name,
        ],
        log_path=log_dir / f"upstream-{name}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    return UpstreamServer(name, port, process)


class Store(DirectStore):
    """A SQLite store with the schema, and the control plane's one write: publish a version."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, author="test", reason="test")

    def reactivate(self, version: int) -> None:
        """Point the active table at an existing ``version`` again, as a rollback does (a new generation)."""
        with self.engine.begin() as conn:
            generation = conn.execute(select(active_route_table.c.generation)).scalar_one()
            conn.execute(
                update(active_route_table)
                .where(active_route_table.c.id == 1)
                .values(version_id=version, generation=generation + 1, changed_at=datetime.now(UTC))
            )

    def workers(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(dataplane_workers))]

    def wait_workers(self, count: int, *, timeout: float = 30.0) -> None:
        """Wait until ``count`` workers have registered (each does once its startup completed)."""
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.workers())} of {count} workers registered")
            time.sleep(0.02)

    def wait_applied(self, version: int, *, workers: int, timeout: float = 15.0) -> None:
        """Wait until ``workers`` workers report serving ``version`` (they poll every 50 ms)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.workers()
            if sum(1 for r in rows if r["version_id"] == version) >= workers:
                return
            time.sleep(0.02)
        raise TimeoutError(f"version {version} not applied by {workers} workers: {self.workers()}")


def table(upstreams: Iterable[Upstream], rules: Iterable[Rule] = ()) -> RouteTable:
    return RouteTable(upstreams={u.name: u for u in upstreams}, rules=tuple(rules))


@dataclass
class DataPlaneProcess:
    port: int
    home: Path
    process: RunningProcess
    internal_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def internal_url(self) -> str:
        """Where the proxy's own endpoints answer (readiness, metrics, version): loopback only."""
        return f"http://127.0.0.1:{self.internal_port}"

    def access_log(self) -> list[dict]:
        path = self.home / "logs" / "access.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_dataplane(
    home: Path, store: Store, legacy_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> DataPlaneProcess:
    port, internal_port = free_port(), free_port()
    env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_STORE_URL": store.url,
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_DATAPLANE_PORT": str(port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
        "STRANGLER_DATAPLANE_WORKERS": str(workers),
        "STRANGLER_ACCESS_LOG_PATH": str(home / "logs" / "access.log"),
        "STRANGLER_DEBUG_HEADERS": "true",
        "STRANGLER_STATS_INTERVAL_S": "0.2",
        **(extra_env or {}),
    }
    process = start_process(
        [sys.executable, "-m", "strangler_proxy.dataplane"],
        log_path=home / "logs" / "dataplane.log",
        env=env,
        ready_url=f"http://127.0.0.1:{internal_port}/_strangler/readyz",
    )
    try:
        store.wait_workers(workers)
    except TimeoutError:
        process.stop()
        raise
    return DataPlaneProcess(port, home, process, internal_port)


@contextmanager
def dataplane_over(legacy_url: str, root: Path) -> Iterator[DataPlaneProcess]:
    """A one-worker data plane (home and store under ``root``) whose table sends everything to the
    legacy at ``legacy_url``; stopped after the block."""
    store = Store(root / "store.sqlite3")
    version = store.publish(table([Upstream(name=LEGACY, url=legacy_url)], []))
    process = start_dataplane(root / "home", store, legacy_url)
    try:
        store.wait_applied(version, workers=1)
        yield process
    finally:
        process.process.stop()
        store.engine.dispose()
