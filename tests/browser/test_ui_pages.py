"""The admin UI's pages and forms over HTTP, in process (no browser): sign-in, roles, CSRF, the
two-step publish with its 409 and refusal cases, history, audit filters, and the live snapshot."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.audit import AuditFilter
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.denials import DenialFilter
from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.controlplane.ui import views_shadow as shadow_page
from strangler_proxy.controlplane.ui.live import PARITY_WINDOW_S, SettledSources, build_snapshot
from strangler_proxy.controlplane.ui.stream import sse_event
from strangler_proxy.routes import ActionMode
from strangler_proxy.store import LATENCY_BUCKETS_MS, make_engine
from strangler_proxy.store.schema import dataplane_workers, route_stats, shadow_counts

pytestmark = pytest.mark.integration

BASE = "http://127.0.0.1:8001"
PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Admin:
    client: TestClient
    services: ControlPlaneServices

    def login(self, username: str, password: str = PASSWORD) -> str:
        """Sign in through the form; return the session's CSRF token from the page."""
        self.client.cookies.clear()
        response = self.client.post("/login", data={"username": username, "password": password, "next": "/"})
        assert response.status_code == 200, response.text
        match = CSRF_META.search(response.text)
        assert match and match.group(1)
        return match.group(1)

    def active_version(self) -> int:
        return self.services.publishing.active()[0].version_id


def _running(settings: ControlPlaneSettings) -> Iterator[Admin]:
    services = build_services(settings, make_engine(settings.resolved_store_url))
    with TestClient(create_app(settings, services), base_url=BASE) as client:
        services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
        for name, role in (("olivia", Role.OPERATOR), ("victor", Role.VIEWER)):
            services.auth.create_user(name, PASSWORD, role)
        yield Admin(client, services)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    yield from _running(ControlPlaneSettings(home=tmp_path / "home", guards_enabled=False))


@pytest.fixture
def admin_on_postgres(tmp_path: Path, postgres_url: str) -> Iterator[Admin]:
    store_url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    yield from _running(
        ControlPlaneSettings(home=tmp_path / "home", store_url=store_url, guards_enabled=False)
    )


def _add_catalog(admin: Admin, csrf: str) -> None:
    response = admin.client.post(
        "/ui/route-create",
        data={
            "csrf_token": csrf,
            "name": "catalog",
            "kind": "prefix",
            "path": "/api/products",
            "upstream": "catalog",
            "mode": "legacy",
            "reason": "extracted",
            "expected_version": str(admin.active_version()),
        },
    )
    assert response.status_code == 200, response.text


def _audit(admin: Admin, **filters: str):  # type: ignore[no-untyped-def]
    return admin.services.audit.search(AuditFilter(**filters))


def _denials(admin: Admin, **filters: str):  # type: ignore[no-untyped-def]
    return admin.services.denials.search(DenialFilter(**filters))


def test_pages_send_strangers_to_the_login_form_and_htmx_gets_a_redirect_header(admin: Admin) -> None:
    page = admin.client.get("/history", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fhistory"
    fragment = admin.client.get("/ui/routes/table", headers={"HX-Request": "true"}, follow_redirects=False)
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/login?next=")
    stream = admin.client.get("/ui/stream", headers={"Accept": "text/event-stream"}, follow_redirects=False)
    assert stream.status_code == 401, "EventSource must give up, not follow a redirect to HTML"


def test_wrong_password_is_refused_and_audited(admin: Admin) -> None:
    response = admin.client.post("/login", data={"username": "olivia", "password": "nope", "next": "/"})
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert "strangler_session" not in response.cookies
    denied = _denials(admin, action="login")
    assert [(d.actor, d.target, d.count) for d in denied] == [("anonymous", "user olivia", 1)]


def test_a_login_form_posted_from_another_site_is_refused(admin: Admin) -> None:
    response = admin.client.post(
        "/login",
        data={"username": "olivia", "password": PASSWORD, "next": "/"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert "strangler_session" not in response.cookies


def test_login_never_redirects_off_site(admin: Admin) -> None:
    response = admin.client.post(
        "/login",
        data={"username": "olivia", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_a_viewer_sees_the_routes_without_controls_and_cannot_change_them(admin: Admin) -> None:
    _add_catalog(admin, admin.login("olivia"))
    version = admin.active_version()
    csrf = admin.login("victor")
    page = admin.client.get("/")
    assert page.status_code == 200
    assert 'data-route="catalog"' in page.text
    assert "Flip…" not in page.text and "Panic" not in page.text
    assert admin.client.get("/ui/routes/catalog/flip").status_code == 403
    flip = admin.client.post(
        "/ui/routes/catalog/flip",
        data={"csrf_token": csrf, "mode": "new", "upstream": "catalog", "reason": "why not"},
        headers={"HX-Request": "true"},
    )
    assert flip.status_code == 403
    assert "operator" in flip.text
    assert admin.active_version() == version
    assert any(d.actor == "victor" for d in _denials(admin))


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(admin: Admin) -> None:
    _add_catalog(admin, admin.login("olivia"))
    version = admin.active_version()
    for token in (None, "forged"):
        data = {"mode": "new", "upstream": "catalog", "reason": "r", "expected_version": str(version)}
        if token:
            data["csrf_token"] = token
        response = admin.client.post("/ui/routes/catalog/flip", data=data)
        assert response.status_code == 403
    assert admin.active_version() == version
    assert sum(d.count for d in _denials(admin, actor="olivia")) == 2


def test_flip_previews_the_diff_then_publishes_against_the_previewed_version(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    before = admin.active_version()
    form = {"csrf_token": csrf, "mode": "canary", "weight": "50", "upstream": "catalog", "reason": "half"}
    preview = admin.client.post("/ui/routes/catalog/flip/preview", data=form)
    assert preview.status_code == 200
    assert "catalog: legacy → canary 50% (catalog)" in preview.text
    assert f'name="expected_version" value="{before}"' in preview.text
    assert admin.active_version() == before, "a preview publishes nothing"

    published = admin.client.post("/ui/routes/catalog/flip", data={**form, "expected_version": str(before)})
    assert published.status_code == 200
    assert published.headers["HX-Trigger"] == "routes-changed"
    assert f"Published v{before + 1}" in published.text
    rule = admin.services.publishing.active_table().rule("catalog")
    assert rule is not None
    assert (rule.action.mode, rule.action.weight, rule.action.upstream) == (ActionMode.CANARY, 50, "catalog")
    entry = _audit(admin, action="flip")[0]
    assert (entry.actor, entry.reason, entry.version_before, entry.version_after) == (
        "olivia",
        "half",
        before,
        before + 1,
    )
    assert entry.address == "testclient"

    stale = admin.client.post(
        "/ui/routes/catalog/flip", data={**form, "mode": "new", "expected_version": str(before)}
    )
    assert stale.status_code == 409
    assert "no longer active" in stale.text
    assert admin.active_version() == before + 1


def test_every_change_needs_a_reason(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    for path, data in (
        ("/ui/routes/catalog/flip/preview", {"mode": "new", "upstream": "catalog"}),
        ("/ui/routes/catalog/rollback/preview", {"to": "legacy"}),
        ("/ui/panic/preview", {}),
        ("/ui/panic", {}),
    ):
        response = admin.client.post(path, data={"csrf_token": csrf, "reason": "  ", **data})
        assert response.status_code == 400, path
        assert "a reason is required" in response.text


def test_a_refused_table_shows_its_problems_and_keeps_the_active_one(admin: Admin) -> None:
    csrf = admin.login("olivia")
    version = admin.active_version()
    form = {
        "csrf_token": csrf,
        "name": "broken",
        "kind": "pattern",
        "path": "^/api/(unclosed",
        "upstream": "catalog",
        "mode": "legacy",
        "reason": "try",
    }
    preview = admin.client.post("/ui/route-create/preview", data=form)
    assert preview.status_code == 200
    assert "does not compile" in preview.text
    assert re.search(r"<button class=\"primary\" type=\"submit\" disabled>", preview.text)
    refused = admin.client.post("/ui/route-create", data={**form, "expected_version": str(version)})
    assert refused.status_code == 422
    assert "does not compile" in refused.text
    assert admin.active_version() == version


def test_rollback_panic_history_diff_and_reactivation(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    flip = {"csrf_token": csrf, "mode": "new", "upstream": "catalog", "reason": "go"}
    v_new = admin.active_version() + 1
    admin.client.post("/ui/routes/catalog/flip", data={**flip, "expected_version": str(v_new - 1)})
    assert admin.active_version() == v_new

    rollback = {"csrf_token": csrf, "to": "legacy", "reason": "errors"}
    preview = admin.client.post("/ui/routes/catalog/rollback/preview", data=rollback).text
    assert "catalog: new (catalog) → legacy" in preview
    done = admin.client.post("/ui/routes/catalog/rollback", data={**rollback, "expected_version": str(v_new)})
    assert done.status_code == 200
    rule = admin.services.publishing.active_table().rule("catalog")
    assert rule is not None and rule.action.mode is ActionMode.LEGACY

    history = admin.client.get("/history")
    assert history.status_code == 200
    assert history.text.count("data-version=") == admin.active_version()
    diff = admin.client.get(f"/ui/history/diff?a={v_new - 1}&b={v_new}")
    assert '<span class="add">+' in diff.text and "&#34;new&#34;" in diff.text
    assert admin.client.get("/ui/history/diff?a=1&b=999").status_code == 404

    reactivate = {"csrf_token": csrf, "reason": "fixed", "expected_version": str(admin.active_version())}
    assert admin.client.post(f"/ui/versions/{v_new}/reactivate", data=reactivate).status_code == 200
    assert admin.active_version() == v_new

    panic = admin.client.post("/ui/panic", data={"csrf_token": csrf, "reason": "fire"})
    assert panic.status_code == 200
    assert all(r.action.mode is ActionMode.LEGACY for r in admin.services.publishing.active_table().rules)
    actions = [e.action for e in _audit(admin, actor="olivia", outcome="ok")]
    assert {"route.add", "flip", "rollback", "reactivate", "panic", "login"} <= set(actions)


def test_the_audit_page_pages_back_through_older_entries(admin: Admin) -> None:
    from strangler_proxy.controlplane.ui import views_audit

    admin.login("olivia")
    for n in range(views_audit.AUDIT_LIMIT + 3):
        admin.services.audit.record(actor="plan", action="drill", outcome="ok", target=f"step-{n}")
    first = admin.client.get("/audit", params={"action": "drill"})
    assert first.text.count('data-action="drill"') == views_audit.AUDIT_LIMIT
    older = re.search(r'<a href="([^"]+)">Older entries', first.text)
    assert older is not None
    second = admin.client.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count('data-action="drill"') == 3
    assert "step-0<" in second.text and "Older entries" not in second.text


def test_the_audit_page_filters_by_action_and_actor(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    admin.client.post("/ui/panic", data={"csrf_token": csrf, "reason": "drill"})
    page = admin.client.get("/audit", params={"action": "panic"})
    assert page.status_code == 200
    assert page.text.count('data-action="panic"') == 1
    assert 'data-action="route.add"' not in page.text
    nobody = admin.client.get("/audit", params={"actor": "nobody"})
    assert "No entry matches these filters." in nobody.text


def test_static_assets_are_vendored_and_served(admin: Admin) -> None:
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/admin.js",
    ):
        response = admin.client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) > 1000 or path.endswith("admin.js")
    admin.login("victor")
    page = admin.client.get("/").text
    assert "https://" not in page, "no CDN links"


def test_the_live_snapshot_sums_workers_and_keeps_the_sides_apart(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    now = 1_900_000_000
    buckets = [0] * len(LATENCY_BUCKETS_MS)
    fast, slow = list(buckets), list(buckets)
    fast[LATENCY_BUCKETS_MS.index(5)] = 10
    slow[LATENCY_BUCKETS_MS.index(100)] = 10
    rows = []
    for second in range(now - 5, now):
        for worker in ("w1", "w2"):
            rows.append(_stats_row(second, worker, "catalog", "legacy", 10, 0, fast))
            rows.append(_stats_row(second, worker, "catalog", "new", 10, 1, slow))
    at = datetime.fromtimestamp(now, UTC)
    active = admin.active_version()
    workers = [
        {"worker": "h:1", "pid": 1, "version_id": active, "heartbeat_at": at - timedelta(seconds=1)},
        {"worker": "h:2", "pid": 2, "version_id": active - 1, "heartbeat_at": at - timedelta(seconds=2)},
        {"worker": "h:3", "pid": 3, "version_id": active - 1, "heartbeat_at": at - timedelta(minutes=5)},
    ]
    with admin.services.engine.begin() as conn:
        conn.execute(insert(route_stats), rows)
        conn.execute(insert(dataplane_workers), workers)
    sources = _frozen_sources(admin.services, now)
    snapshot = build_snapshot(sources, window_s=5, history_s=10, now=at)
    # The silent worker is not counted as alive, but it is shown as stale, never dropped.
    workers_seen = snapshot["workers"]
    assert (workers_seen["alive"], workers_seen["current"], workers_seen["instances"]) == (2, 1, 1)
    assert [line.split(":")[0:2] for line in workers_seen["stale"]] == [["h", "3"]], workers_seen
    assert "store unreachable" in workers_seen["stale"][0]
    catalog = snapshot["routes"]["catalog"]
    assert catalog["legacy"]["rps"] == 20.0
    assert catalog["new"]["rps"] == 20.0
    assert catalog["legacy"]["error_rate"] == 0.0
    assert catalog["new"]["error_rate"] == 10.0
    assert 2 < catalog["legacy"]["p50"] <= 5 < 50 < catalog["new"]["p99"] <= 100
    series = snapshot["series"]
    assert series["seconds"] == list(range(now - 10, now))
    assert series["routes"]["catalog"]["new_rps"][-5:] == [20] * 5
    assert snapshot["version"] == admin.active_version()
    event = sse_event("stats", {"a": 1})
    assert event == 'event: stats\ndata: {"a":1}\n\n'
    assert json.loads(event.split("data: ", 1)[1])["a"] == 1


def test_parity_is_the_same_figure_on_the_routes_table_and_the_shadow_page(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    now = 1_900_000_000
    # Comparisons a minute old: outside the live 5-second window, inside the Shadow page's.
    with admin.services.engine.begin() as conn:
        conn.execute(
            insert(shadow_counts),
            [{"second": now - 60, "worker": "w1", "route": "catalog", "matches": 3, "mismatches": 1}],
        )
    snapshot = build_snapshot(_frozen_sources(admin.services, now), window_s=5, history_s=10)
    assert snapshot["routes"]["catalog"]["parity"] == 75.0
    assert PARITY_WINDOW_S == shadow_page.WINDOW_S


def test_a_shadowed_route_shows_the_new_sides_latency_to_the_mirrors(admin: Admin) -> None:
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    admin.client.post(
        "/ui/routes/catalog/flip",
        data={"csrf_token": csrf, "mode": "shadow", "upstream": "catalog", "reason": "compare",
              "expected_version": str(admin.active_version())},
    )  # fmt: skip
    assert admin.services.publishing.active_table().rule("catalog").action.mode is ActionMode.SHADOW
    now = 1_900_000_000
    buckets = [0] * len(LATENCY_BUCKETS_MS)
    fast, slow = list(buckets), list(buckets)
    fast[LATENCY_BUCKETS_MS.index(5)] = 10
    slow[LATENCY_BUCKETS_MS.index(100)] = 10
    rows = []
    for second in range(now - 5, now):
        rows.append(_stats_row(second, "w1", "catalog", "legacy", 10, 0, fast))
        rows.append(_stats_row(second, "shadow-1", "catalog", "shadow", 10, 0, slow))
    with admin.services.engine.begin() as conn:
        conn.execute(insert(route_stats), rows)
    snapshot = build_snapshot(_frozen_sources(admin.services, now), window_s=5, history_s=10)
    catalog = snapshot["routes"]["catalog"]
    assert catalog["legacy"]["p99"] <= 5 and 50 < catalog["new"]["p99"] <= 100
    assert catalog["new"]["rps"] == 10.0  # the mirrored requests per second


def _stats_row(second: int, worker: str, route: str, target: str, requests: int, errors: int, buckets):  # type: ignore[no-untyped-def]
    return {
        "second": second,
        "worker": worker,
        "route": route,
        "target": target,
        "requests": requests,
        "status_2xx": requests - errors,
        "status_3xx": 0,
        "status_4xx": 0,
        "status_5xx": errors,
        "latency_sum_ms": 0.0,
        "latency_buckets": buckets,
    }


def _frozen_sources(services: ControlPlaneServices, now: int) -> SettledSources:
    """The services, with the observability clock pinned to the start of second ``now``."""
    observability = ObservabilityService(services.engine, seconds=lambda: float(now))
    return SettledSources(services.publishing, observability, services.guards)


def test_admins_register_upstreams_and_refused_addresses_say_why(admin: Admin) -> None:
    operator_csrf = admin.login("olivia")
    page = admin.client.get("/upstreams")
    assert page.status_code == 200
    assert 'data-upstream="catalog"' in page.text and "Register an upstream" not in page.text
    form = {"csrf_token": operator_csrf, "name": "orders", "url": "http://127.0.0.1:8202"}
    assert admin.client.post("/upstreams", data=form).status_code == 403

    password = admin.services.settings.admin_password_file.read_text().strip()
    csrf = admin.login("admin", password)
    registered = admin.client.post("/upstreams", data={**form, "csrf_token": csrf})
    assert registered.status_code == 200
    assert "Registered orders." in registered.text
    assert 'data-upstream="orders"' in registered.text
    assert [e.target for e in _audit(admin, action="upstream.save")] == ["orders"]

    metadata = {"csrf_token": csrf, "name": "evil", "url": "http://169.254.169.254:80"}
    refused = admin.client.post("/upstreams", data=metadata)
    assert refused.status_code == 422
    assert "169.254.169.254" in refused.text
    assert 'data-upstream="evil"' not in refused.text
    assert "evil" not in [u.name for u in admin.services.upstreams.list()]


@pytest.mark.postgres
def test_the_ui_publishes_and_refuses_stale_changes_on_postgresql(admin_on_postgres: Admin) -> None:
    admin = admin_on_postgres
    csrf = admin.login("olivia")
    _add_catalog(admin, csrf)
    before = admin.active_version()
    form = {"csrf_token": csrf, "mode": "canary", "weight": "25", "upstream": "catalog", "reason": "quarter"}
    assert (
        admin.client.post(
            "/ui/routes/catalog/flip", data={**form, "expected_version": str(before)}
        ).status_code
        == 200
    )
    stale = admin.client.post("/ui/routes/catalog/flip", data={**form, "expected_version": str(before)})
    assert stale.status_code == 409
    assert admin.active_version() == before + 1
    assert (
        "catalog: legacy → canary 25% (catalog)"
        in admin.client.get(f"/ui/history/diff?a={before}&b={before + 1}").text
    )
