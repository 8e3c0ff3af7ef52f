"""A running data-plane worker never loads SQLAlchemy: not at import, not at startup, not while it
forwards, polls the table and writes its stats (it reaches the store through the DB-API driver, and
SQLAlchemy alone would cost each worker some 14 MB)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest
import sqlalchemy
from sqlalchemy import func, select

from strangler_proxy.routes import LEGACY, Upstream
from strangler_proxy.store.schema import route_stats
from tests.integration.dataplane.harness import Store, UpstreamServer, start_dataplane, table

pytestmark = pytest.mark.integration

SQLALCHEMY_DIR = str(Path(sqlalchemy.__file__).parent)


def _has_loaded_sqlalchemy(pid: int | str) -> bool:
    """Whether the process has SQLAlchemy's compiled modules mapped (importing SQLAlchemy maps them)."""
    return SQLALCHEMY_DIR in Path(f"/proc/{pid}/maps").read_text()


def _requests_recorded(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(route_stats.c.requests), 0))).scalar_one())


def test_a_serving_worker_has_not_loaded_sqlalchemy(
    store: Store, legacy: UpstreamServer, tmp_path: Path
) -> None:
    assert _has_loaded_sqlalchemy("self"), "the probe cannot see SQLAlchemy (installed without extensions?)"
    version = store.publish(table([Upstream(name=LEGACY, url=legacy.url)]))
    dataplane = start_dataplane(tmp_path / "home", store, legacy.url, workers=2)
    try:
        store.wait_applied(version, workers=2)
        for _ in range(20):
            assert httpx2.get(f"{dataplane.url}/echo/x", timeout=10).status_code == 200
        deadline = time.monotonic() + 15
        while _requests_recorded(store) < 20:  # the workers' stats writers have run
            assert time.monotonic() < deadline, "the workers never wrote their stats"
            time.sleep(0.05)
        pids = [row["pid"] for row in store.workers()]
        assert len(pids) == 2
        assert not [pid for pid in pids if _has_loaded_sqlalchemy(pid)], f"of workers {pids}"
    finally:
        dataplane.process.stop()
