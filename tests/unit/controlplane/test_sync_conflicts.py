"""The conflict queues in the control plane: every side's parked changes listed, one resolved (audited).

The queue is the real ``sync_conflict`` table a side keeps (``acl.sync.core.stock``), filled by the real
``park_conflict``, in a SQLite database named by ``STRANGLER_SYNC_OUTBOXES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from acl.sync.core.stock import StockChange, create_stock_sync_tables, park_conflict
from acl.sync.core.versions import create_version_sync_tables, park_version_conflict
from strangler_proxy.controlplane.service_layer.sync_conflicts import SyncConflictService
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit


@pytest.fixture
def catalog_db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    with engine.begin() as conn:
        create_stock_sync_tables(conn)
        change = StockChange("5f0c3c1e-0000-4000-8000-000000000001", "legacy", 12, None, 50, 4)
        park_conflict(
            conn, change, ours=51, found_version=4, reason="the level was set while this side moved"
        )
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, catalog_db: Engine) -> ControlPlaneSettings:
    return ControlPlaneSettings(
        home=tmp_path / "home",
        legacy_url="http://127.0.0.1:8100",
        guards_enabled=False,
        admin_allowed_hosts=("testserver",),
        sync_outboxes={"catalog": str(catalog_db.url), "legacy": f"sqlite:///{tmp_path / 'none.sqlite3'}"},
    )


def test_conflicts_are_listed_with_both_values_and_resolved_once(api: Api) -> None:
    listed = api.get("/sync/conflicts")
    assert listed.status_code == 200, listed.text
    document = listed.json()
    assert document["open"] == 1 and document["unreadable"] == {}
    (conflict,) = document["conflicts"]
    assert (conflict["side"], conflict["aggregate_id"], conflict["field"]) == ("catalog", "12", "stock")
    assert conflict["ours"] == {"stock": 51}
    assert conflict["theirs"]["stock"] == 50 and conflict["theirs"]["delta"] is None
    assert (conflict["expected_version"], conflict["found_version"]) == (3, 4)

    viewer = api.client.post(
        f"/api/v1/sync/conflicts/catalog/{conflict['id']}/resolve",
        json={"keep": "ours", "reason": "counted"},
        headers=api.headers("viewer"),
    )
    assert viewer.status_code == 403
    no_reason = api.post(f"/sync/conflicts/catalog/{conflict['id']}/resolve", {"keep": "ours"})
    assert no_reason.status_code == 422
    resolved = api.post(
        f"/sync/conflicts/catalog/{conflict['id']}/resolve", {"keep": "ours", "reason": "counted"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolution"] == "ours" and resolved.json()["resolved_by"] == "operator-user"
    assert api.get("/sync/conflicts").json() == {"conflicts": [], "open": 0, "unreadable": {}}
    assert api.get("/sync/conflicts?all=1").json()["conflicts"][0]["resolution"] == "ours"
    again = api.post(f"/sync/conflicts/catalog/{conflict['id']}/resolve", {"keep": "theirs", "reason": "x"})
    assert again.status_code == 404
    entry = api.get("/audit?action=sync.conflict.resolve", role="admin").json()["entries"][0]
    assert entry["target"] == f"catalog/{conflict['id']}" and entry["reason"] == "counted"
    unknown = api.post("/sync/conflicts/billing/1/resolve", {"keep": "ours", "reason": "x"})
    assert unknown.status_code == 404


def test_an_orders_parked_status_is_listed_and_resolved_like_stock(tmp_path: Path) -> None:
    """Order conflicts (``acl.sync.core.versions``) sit in the same queue: listed with both statuses."""
    orders = create_engine(f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    with orders.begin() as conn:
        create_version_sync_tables(conn)
        park_version_conflict(
            conn,
            event_id="5f0c3c1e-0000-4000-8000-000000000002",
            origin="legacy",
            aggregate_type="order",
            aggregate_id="50000001",
            field="status",
            ours="cancelled",
            theirs="shipped",
            expected=1,
            found=2,
        )
    service = SyncConflictService({"orders": str(orders.url)})
    try:
        (conflict,) = service.overview()["conflicts"]
        assert (conflict["side"], conflict["aggregate_type"], conflict["aggregate_id"]) == (
            "orders",
            "order",
            "50000001",
        )
        assert conflict["ours"] == {"status": "cancelled"} and conflict["theirs"]["status"] == "shipped"
        resolved = service.resolve("orders", conflict["id"], resolution="theirs", by="ops")
        assert resolved["resolution"] == "theirs" and service.overview()["open"] == 0
    finally:
        service.dispose()
        orders.dispose()
