"""Sync lag in the control plane: GET /api/v1/sync/lag, and the reverse-sync drain before a rollback.

The ``sync_lag`` rows are written by the sync relays' own code (``acl.sync.core.lag.store_lag``), so the
control plane's reading of the table is checked against the real writer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, update

from acl.sync.core.lag import DirectionLag, store_lag
from acl.sync.core.tables import sync_dead, sync_lag, sync_metadata
from strangler_proxy.controlplane.service_layer.sync_lag import (
    SyncLagService,
    route_takes_writes,
    routes_moving_writes_off,
)
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.controlplane.ui.live import build_snapshot, settled_sources
from strangler_proxy.routes import RouteTable, Rule
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

WRITES_RULE = {"name": "catalog", "match": {"kind": "prefix", "path": "/catalog"}}
READ_ONLY_RULE = {"name": "pages", "match": {"kind": "prefix", "path": "/pages", "methods": ["GET", "HEAD"]}}


@pytest.fixture
def settings(settings: ControlPlaneSettings) -> ControlPlaneSettings:
    """The demo's mapping, as its strangler.toml gives it (the control plane names no service itself)."""
    return settings.model_copy(
        update={"sync_reverse_directions": {"catalog": "reverse", "orders": "reverse:orders"}}
    )


@pytest.fixture
def sync_engine(settings: ControlPlaneSettings) -> Iterator[Engine]:
    path = settings.home.resolve() / "sync" / "sync.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_sync_database_url)
    sync_metadata.create_all(engine, tables=[sync_lag, sync_dead])
    yield engine
    engine.dispose()


def _store(engine: Engine, *, forward: int = 0, reverse: int = 0) -> None:
    store_lag(
        engine,
        [
            DirectionLag("forward", 120.0 if forward else 0.0, forward, None),
            DirectionLag("reverse", 450.0 if reverse else 0.0, reverse, None),
        ],
    )


def _set_reverse_backlog(engine: Engine, backlog: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(sync_lag).where(sync_lag.c.direction == "reverse").values(backlog=backlog))


def _route_on_new(api: Api, rule: dict, upstream: str = "catalog") -> int:
    response = api.client.put(
        f"/api/v1/upstreams/{upstream}", json={"url": "http://127.0.0.1:8201"}, headers=api.headers("admin")
    )
    assert response.status_code in (200, 201), response.text
    added = api.post("/routes", {"rule": rule, "reason": "add"})
    assert added.status_code == 201, added.text
    flipped = api.post(f"/routes/{rule['name']}/flip", {"mode": "new", "upstream": upstream, "reason": "go"})
    assert flipped.status_code == 200, flipped.text
    return flipped.json()["version"]


def _last_audit(api: Api, action: str) -> dict:
    entries = api.get(f"/audit?action={action}", role="admin").json()["entries"]
    assert entries, f"no {action} audit entry"
    return entries[0]


def _backlog_evidence(api: Api, action: str) -> dict | None:
    """The audit's backlog figures, without the handover's detail (checked in test_handover)."""
    evidence = _last_audit(api, action)["evidence"]
    if evidence is None:
        return None
    return {key: value for key, value in evidence.items() if key not in ("handover", "completes")}


FENCED = 2
"""A handover publishes its write fence as a version of its own, then the change."""


def test_lag_is_unknown_without_a_sync_database(api: Api, settings: ControlPlaneSettings) -> None:
    response = api.get("/sync/lag")
    assert response.status_code == 200
    assert response.json() == {"forward": None, "reverse": None}
    assert not (settings.home.resolve() / "sync" / "sync.sqlite3").exists()  # reading created nothing


def test_lag_is_unknown_while_the_table_is_missing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.sqlite3"
    create_engine(f"sqlite:///{path}").connect().close()
    service = SyncLagService(f"sqlite:///{path}")
    assert service.snapshot() == {"forward": None, "reverse": None}
    assert service.reverse_backlog() is None
    service.dispose()


def test_lag_is_read_per_direction_with_a_stale_marker(api: Api, sync_engine: Engine) -> None:
    _store(sync_engine, forward=3, reverse=7)
    body = api.get("/sync/lag").json()
    assert body["forward"]["backlog"] == 3 and body["forward"]["lag_ms"] == 120.0
    assert body["reverse"]["backlog"] == 7 and body["reverse"]["lag_ms"] == 450.0
    assert body["forward"]["stale"] is False and body["reverse"]["stale"] is False
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    with sync_engine.begin() as conn:
        conn.execute(update(sync_lag).where(sync_lag.c.direction == "forward").values(measured_at=old))
    body = api.get("/sync/lag").json()
    assert body["forward"]["stale"] is True and body["reverse"]["stale"] is False
    assert datetime.fromisoformat(body["forward"]["measured_at"]) < datetime.now(UTC) - timedelta(minutes=4)


def test_route_takes_writes() -> None:
    def rule(mode: str, methods: list[str] | None) -> Rule:
        action = {"mode": mode, "upstream": None if mode == "legacy" else "catalog"}
        return Rule.model_validate(
            {"name": "r", "match": {"kind": "prefix", "path": "/r", "methods": methods}, "action": action}
        )

    assert route_takes_writes(rule("new", None))
    assert route_takes_writes(rule("new", ["GET", "POST"]))
    assert not route_takes_writes(rule("canary", ["GET", "POST"]))  # a canary's writes stay on the legacy
    assert not route_takes_writes(rule("new", ["GET", "HEAD"]))
    assert not route_takes_writes(rule("shadow", None))
    assert not route_takes_writes(rule("legacy", None))


def test_rollback_waits_until_the_reverse_backlog_drains(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, WRITES_RULE)
    _store(sync_engine, reverse=4)
    drained = threading.Timer(0.4, _set_reverse_backlog, args=(sync_engine, 0))
    started = time.monotonic()
    drained.start()
    try:
        response = api.post(
            "/routes/catalog/rollback", {"to": "legacy", "reason": "back", "drain_timeout_s": 10}
        )
    finally:
        drained.join()
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + FENCED
    assert time.monotonic() - started >= 0.4
    assert _last_audit(api, "rollback")["evidence"]["reverse_sync_backlog"] == 0


def test_rollback_refuses_with_409_when_the_backlog_does_not_drain(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, WRITES_RULE)
    _store(sync_engine, reverse=5)
    response = api.post(
        "/routes/catalog/rollback", {"to": "legacy", "reason": "back", "drain_timeout_s": 0.2}
    )
    assert response.status_code == 409, response.text
    assert response.json() == {
        "error": "sync_not_drained",
        "message": "reverse sync backlog is 5 events (reverse: 5); retry, wait, or force",
        "backlog": 5,
        "backlogs": {"reverse": 5},
        "unknown": [],
    }
    assert api.get("/versions/active").json()["version"] == version  # nothing rolled back
    too_long = api.post("/routes/catalog/rollback", {"to": "legacy", "reason": "x", "drain_timeout_s": 61})
    assert too_long.status_code == 422


def test_forced_rollback_rolls_back_and_audits_the_backlog(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, WRITES_RULE)
    _store(sync_engine, reverse=5)
    body = {"to": "legacy", "reason": "now", "drain_timeout_s": 0.1, "force": True}
    response = api.post("/routes/catalog/rollback", body)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + FENCED
    evidence = _backlog_evidence(api, "rollback")
    assert evidence == {"reverse_sync_backlog": 5, "reverse_sync_backlogs": {"reverse": 5}, "forced": True}


def test_panic_never_waits_and_audits_the_backlog(api: Api, sync_engine: Engine) -> None:
    _route_on_new(api, WRITES_RULE)
    _store(sync_engine, reverse=9)
    started = time.monotonic()
    response = api.post("/panic", {"reason": "emergency"})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 5  # well under the 10 s default drain
    assert _last_audit(api, "panic")["evidence"]["reverse_sync_backlog"] == 9


def test_read_only_route_never_waits(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, READ_ONLY_RULE)
    _store(sync_engine, reverse=9)
    started = time.monotonic()
    response = api.post("/routes/pages/rollback", {"to": "legacy", "reason": "back"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + 1
    assert time.monotonic() - started < 5  # the default drain would have waited 10 s
    assert _last_audit(api, "rollback")["evidence"] is None


def _ui_login(api: Api) -> str:
    api.client.cookies.clear()
    response = api.client.post(
        "/login", data={"username": "operator-user", "password": "a long enough password", "next": "/"}
    )
    assert response.status_code == 200, response.text
    match = re.search(r'<meta name="csrf-token" content="([^"]*)">', response.text)
    assert match and match.group(1)
    return match.group(1)


def test_ui_rollback_refuses_until_forced_and_shows_the_lag(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, WRITES_RULE)
    _store(sync_engine, forward=2, reverse=6)
    csrf = _ui_login(api)
    page = api.client.get("/")
    assert page.status_code == 200 and 'id="sync-lag"' in page.text
    form = {"csrf_token": csrf, "to": "legacy", "reason": "errors", "drain_timeout_s": "0.1"}
    preview = api.client.post("/ui/routes/catalog/rollback/preview", data={**form, "force": "on"})
    assert preview.status_code == 200 and 'name="force" value="on"' in preview.text
    refused = api.client.post("/ui/routes/catalog/rollback", data={**form, "expected_version": str(version)})
    assert "reverse sync backlog is 6 events (reverse: 6); retry, wait, or force" in refused.text
    assert api.get("/versions/active").json()["version"] == version
    forced = {**form, "expected_version": str(version), "force": "on"}
    assert api.client.post("/ui/routes/catalog/rollback", data=forced).status_code == 200
    # the refused handover's fence (not active any more), then the forced one's fence and its change
    assert api.get("/versions/active").json()["version"] == version + 1 + FENCED
    assert _backlog_evidence(api, "rollback") == {
        "reverse_sync_backlog": 6,
        "reverse_sync_backlogs": {"reverse": 6},
        "forced": True,
    }
    snapshot = build_snapshot(settled_sources(api.services))
    assert snapshot["sync_lag"]["forward"]["backlog"] == 2
    assert snapshot["sync_lag"]["reverse"]["backlog"] == 6


# ---- every reverse direction: reverse (catalog), reverse:orders, ... --------------------------------

ORDERS_RULE = {"name": "checkout", "match": {"kind": "prefix", "path": "/api/orders"}}


def _store_directions(engine: Engine, backlogs: dict[str, int], dead: dict[str, int] | None = None) -> None:
    """Rows as the relays write them (``python -m acl.sync reverse`` with each service's origin)."""
    dead = dead or {}
    store_lag(
        engine,
        [
            DirectionLag(name, 300.0 if backlog else 0.0, backlog, None, dead.get(name))
            for name, backlog in backlogs.items()
        ],
    )


def _set_backlog(engine: Engine, direction: str, backlog: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(sync_lag).where(sync_lag.c.direction == direction).values(backlog=backlog))


def test_api_lists_every_direction_with_its_dead_events(api: Api, sync_engine: Engine) -> None:
    _store_directions(
        sync_engine,
        {"forward": 1, "reverse": 2, "reverse:orders": 3, "reverse:search": 0},
        dead={"reverse": 0, "reverse:orders": 4},
    )
    body = api.get("/sync/lag").json()
    assert list(body) == ["forward", "reverse", "reverse:orders", "reverse:search"]
    assert body["reverse:orders"]["backlog"] == 3 and body["reverse:orders"]["dead"] == 4
    assert body["reverse"]["dead"] == 0 and body["forward"]["dead"] is None
    assert body["reverse:search"]["dead"] is None and body["reverse:orders"]["stale"] is False
    live = build_snapshot(settled_sources(api.services))["sync_lag"]
    assert live["reverse:orders"]["backlog"] == 3 and live["reverse:orders"]["dead"] == 4


def test_dead_counts_are_unknown_in_a_sync_database_without_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    sync_metadata.create_all(engine, tables=[sync_lag])  # written before sync_dead existed
    _store_directions(engine, {"reverse": 2})
    service = SyncLagService(str(engine.url))
    assert service.snapshot()["reverse"]["backlog"] == 2
    assert service.snapshot()["reverse"]["dead"] is None
    service.dispose()
    engine.dispose()


def test_rollback_of_an_orders_route_waits_for_reverse_orders_only(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, ORDERS_RULE, upstream="orders")
    _store_directions(sync_engine, {"reverse": 7, "reverse:orders": 4})
    drained = threading.Timer(0.4, _set_backlog, args=(sync_engine, "reverse:orders", 0))
    started = time.monotonic()
    drained.start()
    try:
        response = api.post(
            "/routes/checkout/rollback", {"to": "legacy", "reason": "back", "drain_timeout_s": 10}
        )
    finally:
        drained.join()
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + FENCED
    assert time.monotonic() - started >= 0.4  # it waited for the orders backlog...
    evidence = _backlog_evidence(api, "rollback")
    # ...and not for the catalog's, which is not where this route's writes went
    assert evidence == {"reverse_sync_backlog": 0, "reverse_sync_backlogs": {"reverse:orders": 0}}


def test_orders_rollback_refusal_names_the_direction_then_force_is_audited(
    api: Api, sync_engine: Engine
) -> None:
    version = _route_on_new(api, ORDERS_RULE, upstream="orders")
    _store_directions(sync_engine, {"reverse": 0, "reverse:orders": 3})
    body = {"to": "legacy", "reason": "back", "drain_timeout_s": 0.2}
    refused = api.post("/routes/checkout/rollback", body)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "error": "sync_not_drained",
        "message": "reverse sync backlog is 3 events (reverse:orders: 3); retry, wait, or force",
        "backlog": 3,
        "backlogs": {"reverse:orders": 3},
        "unknown": [],
    }
    assert api.get("/versions/active").json()["version"] == version
    failed = api.get("/audit?action=rollback", role="admin").json()["entries"]
    assert not failed or failed[0]["outcome"] != "ok"
    forced = api.post("/routes/checkout/rollback", {**body, "force": True})
    assert forced.status_code == 200, forced.text
    # the refused handover's fence (not active any more), then the forced one's fence and its change
    assert api.get("/versions/active").json()["version"] == version + 1 + FENCED
    assert _backlog_evidence(api, "rollback") == {
        "reverse_sync_backlog": 3,
        "reverse_sync_backlogs": {"reverse:orders": 3},
        "forced": True,
    }


def test_an_upstream_without_a_known_direction_drains_every_reverse_direction(
    api: Api, sync_engine: Engine
) -> None:
    _route_on_new(api, {"name": "search", "match": {"kind": "prefix", "path": "/search"}}, upstream="search")
    _store_directions(sync_engine, {"forward": 5, "reverse": 1, "reverse:orders": 2})
    refused = api.post("/routes/search/rollback", {"to": "legacy", "reason": "x", "drain_timeout_s": 0.1})
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"reverse": 1, "reverse:orders": 2}  # never "forward"
    assert refused.json()["backlog"] == 3


def test_the_mapping_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # No service names by default (strangler up passes strangler.toml's [sync] reverse)
    assert ControlPlaneSettings(home=tmp_path).sync_reverse_directions == {}
    monkeypatch.setenv("STRANGLER_SYNC_REVERSE_DIRECTIONS", "catalog=reverse, billing=reverse:billing")
    settings = ControlPlaneSettings(home=tmp_path)
    assert settings.sync_reverse_directions == {"catalog": "reverse", "billing": "reverse:billing"}
    service = SyncLagService("sqlite://", reverse_directions=settings.sync_reverse_directions)
    assert service.reverse_directions_for("billing") == ("reverse:billing",)
    assert service.reverse_directions_for("orders") is None  # not named: every reverse direction
    monkeypatch.setenv("STRANGLER_SYNC_REVERSE_DIRECTIONS", "orders=forward")
    with pytest.raises(ValueError, match="names no reverse direction"):
        ControlPlaneSettings(home=tmp_path)


def test_whole_table_rollback_drains_the_directions_of_the_moved_writes(
    api: Api, sync_engine: Engine
) -> None:
    version = _route_on_new(api, ORDERS_RULE, upstream="orders")  # the previous version: checkout on legacy
    _store_directions(sync_engine, {"reverse": 1, "reverse:orders": 2})
    refused = api.post("/rollback", {"reason": "undo", "drain_timeout_s": 0.1})
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"reverse:orders": 2}  # the catalog's writes do not move
    assert api.get("/versions/active").json()["version"] == version  # the fence lifted: back to it
    drained = threading.Timer(0.3, _store_directions, args=(sync_engine, {"reverse": 0, "reverse:orders": 0}))
    drained.start()
    try:
        done = api.post("/rollback", {"reason": "undo", "drain_timeout_s": 10})
    finally:
        drained.join()
    assert done.status_code == 200, done.text
    assert done.json()["version"] == version - 1  # the pointer back to the version before the flip
    assert _backlog_evidence(api, "rollback") == {
        "reverse_sync_backlog": 0,
        "reverse_sync_backlogs": {"reverse:orders": 0},
    }


def test_whole_table_rollback_forced_and_one_that_moves_no_writes(api: Api, sync_engine: Engine) -> None:
    _route_on_new(api, ORDERS_RULE, upstream="orders")
    _store_directions(sync_engine, {"reverse:orders": 2})
    forced = api.post("/rollback", {"reason": "now", "drain_timeout_s": 0, "force": True})
    assert forced.status_code == 200, forced.text
    assert _backlog_evidence(api, "rollback") == {
        "reverse_sync_backlog": 2,
        "reverse_sync_backlogs": {"reverse:orders": 2},
        "forced": True,
    }
    # rolling that rollback back puts writes ON the new upstream: the forward sync (never measured here)
    # has nothing to wait for
    started = time.monotonic()
    back = api.post("/rollback", {"reason": "again"})
    assert back.status_code == 200, back.text
    assert time.monotonic() - started < 5
    assert _backlog_evidence(api, "rollback") == {
        "forward_sync_backlog": 0,
        "forward_sync_backlogs": {"forward:orders": 0},
    }


def test_reactivating_an_older_version_drains_like_a_rollback(api: Api, sync_engine: Engine) -> None:
    """Re-activating the version from before the flip moves checkout writes off the orders service: the
    orders' reverse backlog must drain first (409 unless forced), and the audit shows the evidence."""
    version = _route_on_new(api, ORDERS_RULE, upstream="orders")
    before_flip = version - 1
    _store_directions(sync_engine, {"reverse:orders": 3})
    refused = api.post(f"/versions/{before_flip}/activate", {"reason": "back", "drain_timeout_s": 0.1})
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"reverse:orders": 3}
    assert api.get("/versions/active").json()["version"] == version
    forced = api.post(
        f"/versions/{before_flip}/activate", {"reason": "back", "drain_timeout_s": 0, "force": True}
    )
    assert forced.status_code == 200, forced.text
    assert api.get("/versions/active").json()["version"] == before_flip
    assert _backlog_evidence(api, "reactivate") == {
        "reverse_sync_backlog": 3,
        "reverse_sync_backlogs": {"reverse:orders": 3},
        "forced": True,
    }
    # and back to the flipped version: writes move ON to the new upstream, after the forward sync
    again = api.post(f"/versions/{version}/activate", {"reason": "forward again"})
    assert again.status_code == 200, again.text
    assert _backlog_evidence(api, "reactivate") == {
        "forward_sync_backlog": 0,
        "forward_sync_backlogs": {"forward:orders": 0},
    }


def test_ui_reactivation_refuses_until_forced(api: Api, sync_engine: Engine) -> None:
    version = _route_on_new(api, ORDERS_RULE, upstream="orders")
    _store_directions(sync_engine, {"reverse:orders": 4})
    csrf = _ui_login(api)
    form = {"csrf_token": csrf, "reason": "back to before the flip", "drain_timeout_s": "0.1"}
    assert 'name="force"' in api.client.get(f"/ui/versions/{version - 1}/reactivate").text
    preview = api.client.post(f"/ui/versions/{version - 1}/reactivate/preview", data={**form, "force": "on"})
    assert preview.status_code == 200 and 'name="force" value="on"' in preview.text
    apply = {**form, "expected_version": str(version)}
    refused = api.client.post(f"/ui/versions/{version - 1}/reactivate", data=apply)
    assert "reverse sync backlog is 4 events (reverse:orders: 4)" in refused.text
    assert api.get("/versions/active").json()["version"] == version
    assert (
        api.client.post(f"/ui/versions/{version - 1}/reactivate", data={**apply, "force": "on"}).status_code
        == 200
    )
    assert api.get("/versions/active").json()["version"] == version - 1
    assert _last_audit(api, "reactivate")["evidence"]["forced"] is True


def test_routes_moving_writes_off() -> None:
    def table(*rules: dict) -> RouteTable:
        upstreams = {name: {"name": name, "url": "http://127.0.0.1:1"} for name in ("legacy", "a", "b")}
        return RouteTable.model_validate({"upstreams": upstreams, "rules": list(rules)})

    def rule(name: str, mode: str, upstream: str | None, methods: list[str] | None = None) -> dict:
        match = {"kind": "prefix", "path": f"/{name}", "methods": methods}
        return {"name": name, "match": match, "action": {"mode": mode, "upstream": upstream}}

    current = table(rule("w", "new", "a"), rule("r", "new", "a", ["GET"]), rule("s", "new", "b"))
    same = table(rule("w", "new", "a"), rule("s", "new", "b"))
    assert routes_moving_writes_off(current, same) == []
    moved = table(rule("w", "legacy", None), rule("s", "new", "a"))
    assert [r.name for r in routes_moving_writes_off(current, moved)] == ["w", "s"]
    assert [r.name for r in routes_moving_writes_off(current, table())] == ["w", "s"]
    to_canary = table(rule("w", "canary", "a"), rule("s", "new", "b"))
    assert [r.name for r in routes_moving_writes_off(current, to_canary)] == ["w"]  # back to the legacy


def test_panic_records_the_moved_writes_backlog_without_waiting(api: Api, sync_engine: Engine) -> None:
    _route_on_new(api, ORDERS_RULE, upstream="orders")
    _store_directions(sync_engine, {"forward": 8, "reverse": 1, "reverse:orders": 6})
    started = time.monotonic()
    response = api.post("/panic", {"reason": "emergency"})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 5  # well under the 10 s default drain
    assert _backlog_evidence(api, "panic") == {
        "reverse_sync_backlog": 6,
        "reverse_sync_backlogs": {"reverse:orders": 6},
    }
    api.services.publishing.handover.join_background(0)  # type: ignore[union-attr]
