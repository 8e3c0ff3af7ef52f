"""Propagation and rollback: how long after a publish every data-plane worker serves the new version.

Starts a real control plane and a real data plane (``STRANGLER_DATAPLANE_WORKERS=4``) on free ports in
a temporary ``STRANGLER_HOME`` (SQLite store), publishes flips through the admin API and, after each,
whole-table rollbacks (pointer swaps). For every change it waits until each worker's row in
``dataplane_workers`` shows the new generation, and takes the time from the pointer swap
(``active_route_table.changed_at``) to the last worker's ``applied_at``. Prints the p50/p99 over the
changes; the requirement is a p99 of at most 100 ms for both.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from sqlalchemy import Engine, select

from benchmarks.processes import Child, free_port, wait_http
from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.schema import active_route_table, dataplane_workers

__all__ = ["measure", "run"]

WORKERS = 4
CHANGES = 40
"""Flips, and as many rollbacks."""
WAIT_S = 10.0


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    child = Child(argv, log=log, env=env)
    try:
        wait_http(ready_url, child, timeout=60.0)
        yield
    finally:
        child.stop()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wait_applied(engine: Engine, generation: int, workers: int) -> float:
    """Milliseconds from the pointer swap of ``generation`` to the last worker applying it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(select(dataplane_workers.c.generation, dataplane_workers.c.applied_at)).all()
            changed_at = conn.execute(select(active_route_table.c.changed_at)).scalar_one()
        applied = [r.applied_at for r in rows if r.generation is not None and r.generation >= generation]
        if len(applied) >= workers:
            last = max(_utc(a) for a in applied)
            return max(0.0, (last - _utc(changed_at)).total_seconds() * 1000)
        time.sleep(0.002)
    raise TimeoutError(f"not every worker applied generation {generation} within {WAIT_S}s")


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(
    *, workers: int = WORKERS, changes: int = CHANGES, store_url: str | None = None
) -> dict[str, float]:
    """Run the whole scenario (on a SQLite file unless ``store_url`` is given); return the figures."""
    with tempfile.TemporaryDirectory(prefix="strangler-bench-") as tmp:
        home = Path(tmp)
        store_url = store_url or f"sqlite:///{home / 'store.sqlite3'}"
        admin_port, data_port, internal_port = free_port(), free_port(), free_port()
        env = {
            "STRANGLER_HOME": str(home),
            "STRANGLER_ADMIN_PORT": str(admin_port),
            "STRANGLER_DATAPLANE_PORT": str(data_port),
            "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
            "STRANGLER_DATAPLANE_WORKERS": str(workers),
            "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{free_port()}",
            "STRANGLER_ACCESS_LOG": "false",
            "STRANGLER_GUARDS_ENABLED": "false",
            "STRANGLER_STORE_URL": store_url,
        }
        admin_url = f"http://127.0.0.1:{admin_port}"
        with (
            _process(
                [sys.executable, "-m", "strangler_proxy.controlplane"],
                env,
                home / "controlplane.log",
                admin_url + "/readyz",
            ),
            _process(
                [sys.executable, "-m", "strangler_proxy.dataplane"],
                env,
                home / "dataplane.log",
                f"http://127.0.0.1:{internal_port}/_strangler/readyz",
            ),
        ):
            engine = make_engine(store_url)
            try:
                return _scenario(engine, admin_url, home, workers, changes)
            finally:
                engine.dispose()


def _scenario(engine: Engine, admin_url: str, home: Path, workers: int, changes: int) -> dict[str, float]:
    with httpx2.Client(base_url=admin_url + "/api/v1", timeout=10) as api:
        password = (home / "secrets" / "admin_password").read_text().strip()
        api.post("/session", json={"username": "admin", "password": password}).raise_for_status()
        api.put("/upstreams/bench-new", json={"url": f"http://127.0.0.1:{free_port()}"}).raise_for_status()
        rule = {"name": "bench", "match": {"path": "/bench"}}
        added = api.post("/routes", json={"rule": rule, "reason": "benchmark route"})
        added.raise_for_status()
        _wait_applied(engine, added.json()["generation"], workers)
        publish, rollback = [], []
        for i in range(changes):
            flip = {
                "mode": "canary",
                "weight": 1 + i % 99,
                "upstream": "bench-new",
                "reason": f"bench flip {i}",
            }
            response = api.post("/routes/bench/flip", json=flip)
            response.raise_for_status()
            publish.append(_wait_applied(engine, response.json()["generation"], workers))
            response = api.post("/rollback", json={"reason": f"bench rollback {i}"})
            response.raise_for_status()
            rollback.append(_wait_applied(engine, response.json()["generation"], workers))
    return {
        "propagation_p50_ms": _p(publish, 0.50),
        "propagation_p99_ms": _p(publish, 0.99),
        "rollback_p50_ms": _p(rollback, 0.50),
        "rollback_p99_ms": _p(rollback, 0.99),
        "propagation_workers": float(workers),
        "propagation_changes": float(len(publish) + len(rollback)),
    }


@contextlib.contextmanager
def _postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped afterwards."""
    import uuid

    import psycopg

    name = f"strangler_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run() -> None:
    figures = measure()
    for name in ("propagation_p99_ms", "rollback_p99_ms", "propagation_p50_ms", "rollback_p50_ms"):
        print(f"{name}: {figures[name]:.1f}")
    print(f"propagation_workers: {int(figures['propagation_workers'])}")
    print(f"propagation_changes: {int(figures['propagation_changes'])}")
    admin_url = os.environ.get("BENCH_POSTGRES_ADMIN_URL")
    if not admin_url:
        print("propagation_postgres: skipped (set BENCH_POSTGRES_ADMIN_URL=postgresql://user@host:port/db)")
        return
    with _postgres_database(admin_url) as store_url:
        figures = measure(store_url=store_url, changes=CHANGES // 2)
    print(f"propagation_p99_ms_postgres: {figures['propagation_p99_ms']:.1f}")
    print(f"rollback_p99_ms_postgres: {figures['rollback_p99_ms']:.1f}")


if __name__ == "__main__":
    run()
