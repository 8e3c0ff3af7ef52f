"""The write handover: every change that moves a route's writes between sides waits for the old owner's
outbound sync, measured live from the outbox and inbox tables, behind a write fence.

The sides' databases are SQLite files holding the real tables: the monolith's ``outbox_event`` and its
inbox of applied events, a service's ``service_outbox``, and the sync database's ``sync_inbox`` (the
tables ``acl.sync`` creates). Each scenario is one the toolkit got wrong before the handover:

* a flip to new accepted while the monolith's events were still on their way to the service;
* a rollback trusting a ``sync_lag`` row nothing refreshes any more (its relay stopped);
* ``routes flip NAME legacy`` and a guard's rollback skipping the gate altogether.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, text
from starlette.testclient import TestClient

from acl.sync.core.lag import DirectionLag, store_lag
from acl.sync.core.tables import (
    legacy_outbox_metadata,
    outbox_event,
    service_outbox,
    service_outbox_metadata,
    sync_inbox,
    sync_lag,
    sync_metadata,
)
from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.guards import GUARD_ACTOR, GuardState
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.routes import RouteTable
from strangler_proxy.store.engine import make_engine
from tests.unit.controlplane.conftest import CHEAP_ARGON2, Api

pytestmark = pytest.mark.unit

WRITES_RULE = {"name": "catalog", "match": {"kind": "prefix", "path": "/catalog"}}


@dataclass
class Sides:
    legacy: Engine
    catalog: Engine
    sync: Engine

    def legacy_event(self) -> str:
        """A change of the monolith, in its outbox (not yet taken by the catalog's consumer)."""
        return _outbox_row(self.legacy, outbox_event, "legacy")

    def catalog_event(self) -> str:
        """A change of the catalog service, in its outbox (not yet applied by the monolith)."""
        return _outbox_row(self.catalog, service_outbox, "catalog")

    def consumer_took(self, *event_ids: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.sync.begin() as conn:
            for event_id in event_ids:
                conn.execute(
                    insert(sync_inbox).values(
                        consumer="catalog",
                        event_id=event_id,
                        outcome="applied",
                        occurred_at=now,
                        applied_at=now,
                    )
                )

    def monolith_applied(self, *event_ids: str) -> None:
        with self.legacy.begin() as conn:
            for event_id in event_ids:  # as Django keeps a UUIDField on SQLite: 32 hex digits
                conn.execute(
                    text("INSERT INTO internal_applied_event (event_id, outcome) VALUES (:id, 'applied')"),
                    {"id": uuid.UUID(event_id).hex},
                )


def _outbox_row(engine: Engine, table, origin: str) -> str:  # type: ignore[no-untyped-def]
    event_id = str(uuid.uuid4())
    with engine.begin() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one()
        conn.execute(
            insert(table).values(
                event_id=event_id,
                aggregate_type="product",
                aggregate_id="7",
                sequence=count + 1,
                event_type="product.stock_changed",
                payload={"stk_qty": 5},
                occurred_at=datetime.now(UTC).replace(tzinfo=None),
                origin=origin,
            )
        )
    return event_id


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[Sides]:
    def sqlite(name: str) -> Engine:
        return create_engine(f"sqlite:///{tmp_path / name}")

    legacy, catalog = sqlite("legacy.sqlite3"), sqlite("catalog.sqlite3")
    (tmp_path / "home" / "sync").mkdir(parents=True)
    sync = create_engine(f"sqlite:///{(tmp_path / 'home' / 'sync' / 'sync.sqlite3').resolve()}")
    legacy_outbox_metadata.create_all(legacy)
    with legacy.begin() as conn:
        conn.execute(
            text("CREATE TABLE internal_applied_event (event_id char(32) PRIMARY KEY, outcome text)")
        )
    service_outbox_metadata.create_all(catalog)
    sync_metadata.create_all(sync)
    yield Sides(legacy, catalog, sync)
    for engine in (legacy, catalog, sync):
        engine.dispose()


@contextmanager
def _own_api(settings: ControlPlaneSettings, services: ControlPlaneServices) -> Iterator[Api]:
    tokens = {}
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        user = services.auth.create_user(f"{role.label}-user", "a long enough password", role)
        tokens[role.label] = services.tokens.issue(user, "test").token
    with TestClient(create_app(settings, services)) as client:
        yield Api(client, services, tokens)


@pytest.fixture
def live_settings(tmp_path: Path, sides: Sides) -> ControlPlaneSettings:
    return ControlPlaneSettings(
        home=tmp_path / "home",
        legacy_url="http://127.0.0.1:8100",
        guards_enabled=False,
        admin_port=8001,
        admin_allowed_hosts=("testserver",),
        sync_outboxes={"legacy": str(sides.legacy.url), "catalog": str(sides.catalog.url)},
        sync_reverse_directions={"catalog": "reverse"},
        handover_fence_s=20,
    )


@pytest.fixture
def settings(live_settings: ControlPlaneSettings) -> ControlPlaneSettings:
    """The conftest's ``api`` fixture builds its services from these: the sides' databases named."""
    return live_settings


@pytest.fixture
def services(settings: ControlPlaneSettings) -> Iterator[ControlPlaneServices]:
    built = build_services(settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2)
    built.bootstrap()
    yield built
    assert built.publishing.handover is not None
    built.publishing.handover.join_background(30)
    built.engine.dispose()


def _register_and_add(api: Api, rule: dict) -> None:
    response = api.client.put(
        "/api/v1/upstreams/catalog", json={"url": "http://127.0.0.1:8201"}, headers=api.headers("admin")
    )
    assert response.status_code in (200, 201), response.text
    added = api.post("/routes", {"rule": rule, "reason": "add"})
    assert added.status_code == 201, added.text


def _active(api: Api) -> dict:
    return api.get("/versions/active").json()


def _audit(api: Api, action: str) -> list[dict]:
    return api.get(f"/audit?action={action}", role="admin").json()["entries"]


def _on_new(api: Api, sides: Sides) -> int:
    _register_and_add(api, WRITES_RULE)
    flipped = api.post("/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "go"})
    assert flipped.status_code == 200, flipped.text
    return flipped.json()["version"]


# ---- scenario: a forward flip while the monolith's events are pending -----------------------------


def test_a_flip_to_new_waits_for_the_monolith_events_the_service_has_not_taken(
    api: Api, sides: Sides
) -> None:
    _register_and_add(api, WRITES_RULE)
    taken = sides.legacy_event()
    pending = [sides.legacy_event() for _ in range(3)]
    sides.consumer_took(taken)
    taking = threading.Timer(0.4, sides.consumer_took, args=pending)
    started = time.monotonic()
    taking.start()
    try:
        flipped = api.post("/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "go"})
        took = time.monotonic() - started
    finally:
        taking.join()
    assert flipped.status_code == 200, flipped.text
    assert took >= 0.4  # not before the catalog had the monolith's last writes
    rule = _active(api)["table"]["rules"][0]
    assert rule["action"]["mode"] == "new" and rule.get("fence") is None
    assert _audit(api, "flip")[0]["evidence"]["forward_sync_backlog"] == 0


def test_a_flip_to_new_is_refused_while_the_monolith_events_are_pending(api: Api, sides: Sides) -> None:
    _register_and_add(api, WRITES_RULE)
    before = _active(api)["version"]
    pending = [sides.legacy_event() for _ in range(3)]
    body = {"mode": "new", "upstream": "catalog", "reason": "go", "drain_timeout_s": 0.3}
    refused = api.post("/routes/catalog/flip", body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"forward:catalog": 3}
    assert refused.json()["message"].startswith("forward sync backlog is 3 events")
    assert _active(api)["version"] == before  # nothing flipped, the fence lifted
    refusal = _audit(api, "flip")[0]
    assert refusal["outcome"] == "conflict"
    measured = refusal["evidence"]["handover"]["directions"]["forward:catalog"]
    assert measured["pending"] == 3 and set(measured["events"]) == set(pending)
    assert [e["outcome"] for e in _audit(api, "handover.fence")] == ["ok"]
    assert [e["outcome"] for e in _audit(api, "handover.abort")] == ["ok"]


def test_the_fence_holds_writes_while_the_handover_waits(api: Api, sides: Sides) -> None:
    _register_and_add(api, WRITES_RULE)
    event = sides.legacy_event()
    seen: dict[str, object] = {}

    def look_then_drain() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rule = api.services.publishing.active_table().rule("catalog")
            if rule is not None and rule.fence is not None:
                seen["fence"] = rule.fence
                seen["mode"] = rule.action.mode.value
                break
            time.sleep(0.02)
        sides.consumer_took(event)

    watcher = threading.Thread(target=look_then_drain)
    watcher.start()
    flipped = api.post(
        "/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "go", "drain_timeout_s": 10}
    )
    watcher.join()
    assert flipped.status_code == 200, flipped.text
    assert seen["mode"] == "legacy"  # the old owner, fenced, while the backlog drained
    fence = seen["fence"]
    assert 0 < fence.until - time.time() <= 20 and fence.retry_after_s == 1  # type: ignore[attr-defined]
    # a whole-table rollback returns to the version before the fence, never to the fence
    assert _active(api)["table"]["rules"][0]["fence"] is None
    previous = api.services.publishing.previous_table().rule("catalog")
    assert previous is not None and previous.fence is None and previous.action.mode.value == "legacy"


# ---- scenario: a rollback trusting a sync_lag row nothing refreshes --------------------------------


def test_a_rollback_counts_the_service_events_live_whatever_sync_lag_says(api: Api, sides: Sides) -> None:
    version = _on_new(api, sides)
    pending = [sides.catalog_event() for _ in range(20)]
    store_lag(sides.sync, [DirectionLag("reverse", 0.0, 0, None)])  # the stopped relay's last word
    refused = api.post("/routes/catalog/rollback", {"to": "legacy", "reason": "back", "drain_timeout_s": 0.2})
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"reverse": 20}
    assert _active(api)["version"] == version
    sides.monolith_applied(*pending[:19])
    dead_letter(sides.catalog, pending[19])  # refused for good by the monolith: never delivered
    done = api.post("/routes/catalog/rollback", {"to": "legacy", "reason": "back", "drain_timeout_s": 1})
    assert done.status_code == 200, done.text
    evidence = _audit(api, "rollback")[0]["evidence"]
    assert evidence["reverse_sync_backlog"] == 0
    assert evidence["handover"]["directions"]["reverse"]["measured_by"] == "outbox"


def dead_letter(engine: Engine, event_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS service_dead_letter (event_id varchar(36))"))
        conn.execute(text("INSERT INTO service_dead_letter (event_id) VALUES (:id)"), {"id": event_id})


def test_a_stale_sync_lag_row_is_unknown_and_unknown_refuses(tmp_path: Path) -> None:
    """Without the sides' databases the gate reads the relays' rows, but only fresh ones."""
    settings = ControlPlaneSettings(
        home=tmp_path / "home",
        legacy_url="http://127.0.0.1:8100",
        guards_enabled=False,
        admin_allowed_hosts=("testserver",),
        handover_stale_after_s=5,
        sync_reverse_directions={"catalog": "reverse"},
    )
    services = build_services(
        settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2
    )
    services.bootstrap()
    with _own_api(settings, services) as api:
        _register_and_add(api, WRITES_RULE)
        assert (
            api.post(
                "/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "go"}
            ).status_code
            == 200
        )
        (tmp_path / "home" / "sync").mkdir(parents=True, exist_ok=True)
        sync = create_engine(settings.resolved_sync_database_url)
        sync_metadata.create_all(sync, tables=[sync_lag])
        store_lag(sync, [DirectionLag("reverse", 0.0, 0, None)])
        an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
        with sync.begin() as conn:
            conn.execute(sync_lag.update().values(measured_at=an_hour_ago))
        started = time.monotonic()
        refused = api.post(
            "/routes/catalog/rollback", {"to": "legacy", "reason": "b", "drain_timeout_s": 0.3}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["unknown"] == ["reverse"]
        assert "unknown for reverse" in refused.json()["message"]
        assert time.monotonic() - started >= 0.3  # it waited for a fresh figure first
        store_lag(sync, [DirectionLag("reverse", 0.0, 0, None)])  # the relay is back
        assert api.post("/routes/catalog/rollback", {"to": "legacy", "reason": "b"}).status_code == 200
        sync.dispose()
    services.engine.dispose()


# ---- scenario: flip NAME legacy and the guards' rollbacks skipped the gate ---------------------------


def test_flip_to_legacy_is_a_handover_too(api: Api, sides: Sides) -> None:
    _on_new(api, sides)
    event = sides.catalog_event()
    applying = threading.Timer(0.4, sides.monolith_applied, args=(event,))
    started = time.monotonic()
    applying.start()
    try:
        back = api.post("/routes/catalog/flip", {"mode": "legacy", "reason": "back"})
        took = time.monotonic() - started
    finally:
        applying.join()
    assert back.status_code == 200, back.text
    assert took >= 0.4  # not before the monolith had the catalog's last write


def test_flip_to_legacy_refuses_then_force_is_audited_with_the_pending_events(api: Api, sides: Sides) -> None:
    _on_new(api, sides)
    event = sides.catalog_event()
    refused = api.post("/routes/catalog/flip", {"mode": "legacy", "reason": "back", "drain_timeout_s": 0.2})
    assert refused.status_code == 409, refused.text
    assert refused.json()["backlogs"] == {"reverse": 1}
    forced = api.post(
        "/routes/catalog/flip", {"mode": "legacy", "reason": "now", "drain_timeout_s": 0, "force": True}
    )
    assert forced.status_code == 200, forced.text
    evidence = _audit(api, "flip")[0]["evidence"]
    assert evidence["forced"] is True
    assert evidence["handover"]["directions"]["reverse"]["events"] == [event]  # what the force left behind


def test_a_guard_rollback_fences_records_the_pending_and_completes_in_the_background(
    api: Api, sides: Sides
) -> None:
    version = _on_new(api, sides)
    pending = [sides.catalog_event() for _ in range(2)]
    publishing = api.services.publishing
    started = time.monotonic()
    result = publishing.rollback(
        actor=_guard_actor(),
        reason="guard: 3 failing windows",
        route="catalog",
        to="legacy",
        expected_version=version,
        emergency=True,
    )
    assert time.monotonic() - started < 2  # an emergency never waits
    rule = publishing.active_table().rule("catalog")
    assert rule is not None and rule.action.mode.value == "legacy"  # reads at the legacy at once
    assert rule.fence is not None  # writes held until the catalog's events are applied
    evidence = _audit(api, "rollback")[0]["evidence"]
    assert evidence["reverse_sync_backlog"] == 2 and evidence["completes"] == "background"
    assert set(evidence["handover"]["directions"]["reverse"]["events"]) == set(pending)
    sides.monolith_applied(*pending)
    assert publishing.handover is not None
    publishing.handover.join_background(15)
    lifted = publishing.active_table().rule("catalog")
    assert lifted is not None and lifted.fence is None and lifted.action.mode.value == "legacy"
    complete = _audit(api, "handover.complete")[0]
    assert complete["evidence"]["drained"] is True and complete["version_before"] == result.version


def test_the_guard_itself_goes_through_the_handover(api: Api, sides: Sides, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    version = _on_new(api, sides)
    event = sides.catalog_event()
    calls: list[dict] = []
    original = api.services.publishing.rollback

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(api.services.publishing, "rollback", spy)
    guards = api.services.guards
    guards._states["catalog"] = GuardState(route="catalog", signature=(), since_second=0, consecutive=3)
    guards._roll_back("catalog", version)
    assert calls and calls[0]["emergency"] is True
    rule = api.services.publishing.active_table().rule("catalog")
    assert rule is not None and rule.fence is not None
    sides.monolith_applied(event)  # the background completion lifts the fence


def _guard_actor() -> Actor:
    return Actor(GUARD_ACTOR)


def test_write_moves() -> None:
    from strangler_proxy.controlplane.service_layer.handover import write_moves

    def table(*rules: dict) -> RouteTable:
        upstreams = {name: {"name": name, "url": "http://127.0.0.1:1"} for name in ("legacy", "a", "b")}
        return RouteTable.model_validate({"upstreams": upstreams, "rules": list(rules)})

    def rule(name: str, mode: str, upstream: str | None, methods: list[str] | None = None) -> dict:
        match = {"kind": "prefix", "path": f"/{name}", "methods": methods}
        return {"name": name, "match": match, "action": {"mode": mode, "upstream": upstream}}

    current = table(rule("w", "new", "a"), rule("r", "new", "a", ["GET"]), rule("l", "legacy", None))
    moved = table(rule("w", "legacy", None), rule("r", "legacy", None, ["GET"]), rule("l", "new", "b"))
    assert [(m.route, m.source, m.destination) for m in write_moves(current, moved)] == [
        ("w", "a", "legacy"),
        ("l", "legacy", "b"),
    ]
    added = table(*current.model_dump(mode="json")["rules"], rule("n", "new", "b"))
    assert [(m.route, m.source, m.destination) for m in write_moves(current, added)] == [("n", "legacy", "b")]
    assert write_moves(current, current) == []


# ---- scenario: the guard's own rollback, judged from the data plane's figures ------------------------


def test_the_guards_automatic_rollback_records_the_sync_evidence_and_never_waits(
    api: Api, sides: Sides
) -> None:
    from strangler_proxy.controlplane.repositories.audit import AuditFilter
    from strangler_proxy.controlplane.service_layer.guards import GuardService
    from tests.unit.controlplane.fake_dataplane import write_second

    now = [1_800_000_000.0]
    guard = GuardService(api.services.engine, api.services.publishing, lag_s=2, seconds=lambda: now[0])
    version = _on_new(api, sides)
    guard.tick()  # watches the route from this second on
    pending = [sides.catalog_event() for _ in range(3)]  # the catalog's writes, not applied by the monolith
    start = int(now[0])
    for second in range(start, start + 5):
        write_second(api.services.engine, second=second, route="catalog", target="legacy", requests=20)
        write_second(
            api.services.engine, second=second, route="catalog", target="new", requests=20, errors=15
        )
    now[0] = start + 5 + 2
    started = time.monotonic()
    assert guard.tick() == ["catalog"]
    assert time.monotonic() - started < 2  # the default drain timeout is 10 s: it did not wait for it
    rule = api.services.publishing.active_table().rule("catalog")
    assert rule is not None and rule.action.mode.value == "legacy" and rule.fence is not None
    [entry] = api.services.audit.search(AuditFilter(actor=GUARD_ACTOR, action="rollback"))
    assert entry.outcome == "ok" and entry.version_before == version
    evidence = entry.evidence
    assert len(evidence["windows"]) == 5  # the guard's own evidence, and the sync's beside it
    assert evidence["reverse_sync_backlog"] == 3 and evidence["completes"] == "background"
    assert set(evidence["handover"]["directions"]["reverse"]["events"]) == set(pending)
    sides.monolith_applied(*pending)
    assert api.services.publishing.handover is not None
    api.services.publishing.handover.join_background(15)
    assert _audit(api, "handover.complete")[0]["evidence"]["drained"] is True
