"""Propagation to several real data-plane workers, on SQLite and PostgreSQL: after each publish and each
rollback, every worker serves the new version (its row in dataplane_workers, and the debug header)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Engine, select

from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.schema import active_route_table, dataplane_workers
from tests.integration.controlplane.conftest import start_control_plane, start_data_plane, start_upstream

pytestmark = pytest.mark.integration

WORKERS = 3
BOUND_MS = 1000
"""Loose on purpose (a shared CI machine); `make bench` measures the real p99 against 100 ms."""


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _applied_within(engine: Engine, generation: int, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(select(dataplane_workers.c.generation, dataplane_workers.c.applied_at)).all()
            changed_at = conn.execute(select(active_route_table.c.changed_at)).scalar_one()
        done = [r.applied_at for r in rows if r.generation is not None and r.generation >= generation]
        if len(done) == WORKERS:
            return (max(_utc(a) for a in done) - _utc(changed_at)).total_seconds() * 1000
        time.sleep(0.01)
    raise AssertionError(f"generation {generation} not applied by {WORKERS} workers: {rows}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Engine, httpx2.Client]]:
    home = tmp_path / "home"
    store_url = f"sqlite:///{home / 'store.sqlite3'}"
    if request.param == "postgres":
        store_url = request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://")
    legacy_url, legacy = start_upstream("legacy", tmp_path)
    env = {"STRANGLER_LEGACY_URL": legacy_url, "STRANGLER_STORE_URL": store_url}
    plane = start_control_plane(home, tmp_path, STRANGLER_GUARDS_ENABLED="false", **env)
    data_url, data = start_data_plane(home, tmp_path, workers=WORKERS, **env)
    engine = make_engine(store_url)
    api = httpx2.Client(base_url=plane.url + "/api/v1", timeout=10)
    try:
        api.post(
            "/session", json={"username": "admin", "password": plane.admin_password()}
        ).raise_for_status()
        yield legacy_url, data_url, engine, api
    finally:
        api.close()
        engine.dispose()
        data.stop()
        plane.process.stop()
        legacy.stop()


def test_every_worker_serves_each_new_version(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _legacy_url, data_url, engine, api = stack
    new_url, new = start_upstream("catalog", tmp_path)
    try:
        api.put("/upstreams/catalog", json={"url": new_url}).raise_for_status()
        added = api.post(
            "/routes", json={"rule": {"name": "catalog", "match": {"path": "/catalog"}}, "reason": "add"}
        )
        added.raise_for_status()
        _applied_within(engine, added.json()["generation"])
        delays = []
        for mode, path in (("new", "/flip"), ("legacy", "/flip"), ("new", "/flip"), (None, "/rollback")):
            if path == "/flip":
                body = {"mode": mode, "upstream": "catalog", "reason": f"to {mode}"}
                response = api.post("/routes/catalog/flip", json=body)
            else:
                response = api.post("/rollback", json={"reason": "undo"})
                mode = "legacy"
            response.raise_for_status()
            delays.append(_applied_within(engine, response.json()["generation"]))
            version = str(response.json()["version"])
            with httpx2.Client(base_url=data_url) as client:
                for _ in range(2 * WORKERS):  # several connections: several workers answer
                    answer = client.get("/catalog/item", headers={"connection": "close"})
                    assert answer.headers["x-strangler-version"] == version
                    assert answer.json()["upstream"] == ("catalog" if mode == "new" else "legacy")
        assert max(delays) < BOUND_MS, delays
    finally:
        new.stop()
