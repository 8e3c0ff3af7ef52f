"""Moving an upstream takes effect at once: a new version with the new address, whichever way it moved.

``routes register`` (the admin API's PUT /upstreams/NAME), the admin UI's Upstreams page and a changed
``STRANGLER_LEGACY_URL`` at start each publish the active table with the new address, reason
``upstream NAME moved OLD -> NEW``; the upstream health shows what the health URL answered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strangler_proxy.controlplane.service_layer import build_services
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.store.engine import make_engine
from tests.integration.dataplane.rawhttp import serving
from tests.security.misbehaving import MisbehavingUpstream
from tests.unit.controlplane.conftest import CHEAP_ARGON2, Api

OLD, NEW = "http://127.0.0.1:8100", "http://127.0.0.1:8111"


def _active_legacy_url(api: Api) -> str:
    return api.services.publishing.active_table().upstreams["legacy"].url


def _moves(api: Api) -> list[dict]:
    return api.get("/audit?action=upstream.move").json()["entries"]


def test_registering_a_used_upstream_elsewhere_publishes_the_move(api: Api) -> None:
    assert _active_legacy_url(api) == OLD
    response = api.client.put("/api/v1/upstreams/legacy", json={"url": NEW}, headers=api.headers("admin"))
    assert response.status_code == 200, response.text
    published = response.json()["published"]
    assert (published["previous_version"], published["version"]) == (1, 2)
    assert _active_legacy_url(api) == NEW
    [move] = _moves(api)
    assert move["reason"] == f"upstream legacy moved {OLD} -> {NEW}"
    assert (move["actor"], move["version_before"], move["version_after"]) == ("admin-user", 1, 2)
    # the same address again: nothing to publish
    again = api.client.put("/api/v1/upstreams/legacy", json={"url": NEW}, headers=api.headers("admin"))
    assert again.status_code == 200 and "published" not in again.json()
    assert api.services.publishing.active()[0].version_id == 2


def test_an_upstream_no_route_uses_moves_without_a_new_version(api: Api) -> None:
    put = api.client.put
    assert put("/api/v1/upstreams/spare", json={"url": OLD}, headers=api.headers("admin")).status_code == 201
    response = put("/api/v1/upstreams/spare", json={"url": NEW}, headers=api.headers("admin"))
    assert response.status_code == 200 and "published" not in response.json()
    assert api.services.publishing.active()[0].version_id == 1


def test_the_upstreams_page_publishes_the_move(api: Api) -> None:
    client = api.client
    client.cookies.clear()
    login = client.post(
        "/login", data={"username": "admin-user", "password": "a long enough password", "next": "/upstreams"}
    )
    assert login.status_code == 200, login.text
    token = re.search(r'<meta name="csrf-token" content="([^"]*)">', login.text)
    assert token is not None and token.group(1)
    answer = client.post(
        "/upstreams", data={"name": "legacy", "url": NEW, "csrf_token": token.group(1)}, follow_redirects=True
    )
    assert answer.status_code == 200, answer.text[:500]
    assert "Published version 2" in answer.text
    assert _active_legacy_url(api) == NEW
    [move] = _moves(api)
    assert move["actor"] == "admin-user" and move["reason"] == f"upstream legacy moved {OLD} -> {NEW}"


def _bootstrap(home: Path, **settings: object) -> str:
    configured = ControlPlaneSettings(home=home, guards_enabled=False, **settings)  # type: ignore[arg-type]
    services = build_services(
        configured, make_engine(configured.resolved_store_url), password_hasher=CHEAP_ARGON2
    )
    try:
        services.bootstrap()
        return services.publishing.active_table().upstreams["legacy"].url
    finally:
        services.engine.dispose()


def test_a_changed_legacy_url_at_start_publishes_the_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("STRANGLER_LEGACY_URL", OLD)
    assert _bootstrap(home) == OLD
    monkeypatch.setenv("STRANGLER_LEGACY_URL", NEW)
    assert _bootstrap(home) == NEW
    # unset, the default does not move a legacy registered elsewhere
    monkeypatch.delenv("STRANGLER_LEGACY_URL")
    assert _bootstrap(home) == NEW
    engine = make_engine(ControlPlaneSettings(home=home).resolved_store_url)
    try:
        with engine.connect() as conn:
            reasons = [
                row[0] for row in conn.exec_driver_sql("SELECT reason FROM route_versions ORDER BY id")
            ]
    finally:
        engine.dispose()
    assert reasons == ["bootstrap: everything to legacy", f"upstream legacy moved {OLD} -> {NEW}"]


def test_upstream_health_shows_what_the_health_url_answered(api: Api) -> None:
    with serving(MisbehavingUpstream()) as upstream:  # answers 404 to /healthz
        put = api.client.put
        assert (
            put(
                "/api/v1/upstreams/half", json={"url": upstream.url}, headers=api.headers("admin")
            ).status_code
            == 201
        )
        health = {u["name"]: u for u in api.get("/upstreams/health").json()["upstreams"]}
    half = health["half"]
    assert half["healthy"] is False
    assert half["status"] == 404
    assert half["error"] == "/healthz answered 404 Not Found"
