"""The /api/v1 contract: 401, 403 (both audited), 409 on a stale publish, 422 on a refused table,
CSRF, session login, and the shape of the main answers."""

from __future__ import annotations

import pytest

from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

CATALOG_RULE = {"name": "catalog", "match": {"kind": "prefix", "path": "/catalog"}}


def _register_catalog(api: Api) -> None:
    response = api.client.put(
        "/api/v1/upstreams/catalog", json={"url": "http://127.0.0.1:8201"}, headers=api.headers("admin")
    )
    assert response.status_code == 201, response.text
    response = api.post("/routes", {"rule": CATALOG_RULE, "reason": "add catalog", "expected_version": 1})
    assert response.status_code == 201, response.text


def _denials(api: Api, actor: str) -> list[dict]:
    """Refused requests of ``actor``, as /audit/denials counts them (per target, reason and minute)."""
    entries = api.get("/audit/denials?action=auth", role="admin").json()["denials"]
    return [e for e in entries if e["actor"] == actor]


def test_health_endpoints(api: Api) -> None:
    health = api.client.get("/healthz")
    assert health.json() == {"status": "ok"}
    assert (
        health.headers["x-frame-options"] == "DENY" and health.headers["x-content-type-options"] == "nosniff"
    )
    assert "frame-ancestors 'none'" in api.client.get("/api/v1/routes").headers["content-security-policy"]
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok"}


def test_unauthenticated_requests_get_401_and_are_audited(api: Api) -> None:
    assert api.client.get("/api/v1/routes").status_code == 401
    response = api.client.get("/api/v1/routes", headers={"Authorization": "Bearer sft_forged"})
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    denials = _denials(api, "anonymous")
    assert sum(d["count"] for d in denials) == 2, "two refusals, one row per minute"
    assert {d["target"] for d in denials} == {"GET /api/v1/routes"}
    assert denials[0]["address"] == "testclient"


def test_wrong_role_gets_403_and_is_audited(api: Api) -> None:
    response = api.post("/panic", {"reason": "viewer tries"}, role="viewer")
    assert response.status_code == 403 and "operator" in response.json()["message"]
    response = api.client.put(
        "/api/v1/upstreams/x", json={"url": "http://127.0.0.1:9000"}, headers=api.headers("operator")
    )
    assert response.status_code == 403
    assert {d["target"] for d in _denials(api, "viewer-user")} == {"POST /api/v1/panic"}
    assert {d["target"] for d in _denials(api, "operator-user")} == {"PUT /api/v1/upstreams/{name}"}
    assert api.get("/versions/active").json()["version"] == 1  # nothing changed


def test_stale_publish_gets_409_and_changes_nothing(api: Api) -> None:
    _register_catalog(api)
    table = api.get("/versions/active").json()["table"]
    response = api.post("/versions", {"table": table, "expected_version": 1, "reason": "stale"})
    assert response.status_code == 409
    assert response.json() | {"message": ""} == {
        "error": "stale_version",
        "message": "",
        "expected_version": 1,
        "active_version": 2,
    }
    assert [v["version"] for v in api.get("/versions").json()["versions"]] == [2, 1]


def test_refused_table_gets_422_with_every_problem(api: Api) -> None:
    table = api.get("/versions/active").json()["table"]
    table["rules"] = [
        {"name": "a", "match": {"path": "/a"}, "action": {"mode": "new", "upstream": "nowhere"}},
        {"name": "b", "match": {"path": "/a/b"}},
    ]
    response = api.post("/versions", {"table": table, "expected_version": 1, "reason": "bad"})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert len(problems) == 2 and "nowhere" in problems[0] and "never match" in problems[1]
    assert api.get("/versions/active").json()["version"] == 1
    bad_weight = {"rule": {**CATALOG_RULE, "action": {"weight": 150}}, "reason": "x"}
    assert api.post("/routes", bad_weight).status_code == 422


def test_flip_dry_run_rollback_panic_and_history(api: Api) -> None:
    _register_catalog(api)
    flip = {"mode": "canary", "weight": 50, "upstream": "catalog", "reason": "half", "expected_version": 2}
    preview = api.post("/routes/catalog/flip", {**flip, "dry_run": True})
    assert preview.status_code == 200 and preview.json()["valid"] is True
    assert preview.json()["diff"]["changed_rules"]["catalog"]["after"]["action"]["weight"] == 50
    assert api.get("/versions/active").json()["version"] == 2  # a preview publishes nothing
    done = api.post("/routes/catalog/flip", flip)
    assert done.status_code == 200 and done.json()["version"] == 3
    routes = api.get("/routes").json()
    [catalog] = [r for r in routes["routes"] if r["route"] == "catalog"]
    assert (catalog["mode"], catalog["weight"], catalog["upstream"]) == ("canary", 50, "catalog")
    assert set(catalog) >= {"legacy", "new", "shadow", "guard"}
    back = api.post("/routes/catalog/rollback", {"to": "legacy", "reason": "enough"})
    assert back.status_code == 200 and back.json()["version"] == 4
    whole = api.post("/rollback", {"reason": "undo the rollback"})
    assert whole.json()["version"] == 3  # pointer back to an existing version
    panic = api.post("/panic", {"reason": "stop everything"})
    assert panic.status_code == 200
    diff = api.get(f"/diff?from=3&to={panic.json()['version']}").json()
    assert diff["changed_rules"]["catalog"]["after"]["action"]["mode"] == "legacy"
    actions = [e["action"] for e in api.get("/audit?outcome=ok", role="viewer").json()["entries"]]
    assert actions[:5] == ["panic", "rollback", "rollback", "flip", "route.add"]


def test_session_login_and_csrf(api: Api) -> None:
    client = api.client
    wrong = client.post("/api/v1/session", json={"username": "operator-user", "password": "nope"})
    assert wrong.status_code == 401
    login = client.post(
        "/api/v1/session", json={"username": "operator-user", "password": "a long enough password"}
    )
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    assert client.get("/api/v1/session").json()["username"] == "operator-user"
    _register = client.put(
        "/api/v1/upstreams/catalog", json={"url": "http://127.0.0.1:8201"}, headers=api.headers("admin")
    )
    assert _register.status_code == 201
    body = {"rule": CATALOG_RULE, "reason": "x"}
    # a cross-site form post carries the cookie but neither JSON nor the token: refused
    form = client.post("/api/v1/panic", data={"reason": "csrf"})
    assert form.status_code == 403 and "CSRF" in form.json()["message"]
    wrong_token = client.post("/api/v1/panic", data={"reason": "csrf", "csrf_token": "0" * 64})
    assert wrong_token.status_code == 403
    foreign = client.post("/api/v1/routes", json=body, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["message"]
    assert api.get("/versions/active").json()["version"] == 1
    with_token = client.post("/api/v1/panic", data={"reason": "form with token", "csrf_token": csrf})
    assert with_token.status_code == 200, with_token.text
    assert client.post("/api/v1/routes", json=body).status_code == 201
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/session").status_code == 401
    reasons = {e["reason"] for e in _denials(api, "operator-user")}
    assert {"missing or wrong CSRF token", "cross-site request (Origin names another site)"} <= reasons


def test_tampered_session_cookie_is_not_a_session(api: Api) -> None:
    login = api.client.post(
        "/api/v1/session", json={"username": "admin-user", "password": "a long enough password"}
    )
    cookie = login.cookies.get("strangler_session") or api.client.cookies.get("strangler_session")
    api.client.cookies.clear()
    api.client.cookies.set("strangler_session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert api.client.get("/api/v1/session").status_code == 401


def test_upstream_registry_refuses_dangerous_addresses(api: Api) -> None:
    def put(name: str, url: str) -> int:
        return api.client.put(
            f"/api/v1/upstreams/{name}", json={"url": url}, headers=api.headers("admin")
        ).status_code

    assert put("meta", "http://169.254.169.254:80") == 422
    assert put("meta6", "http://[fd00:ec2::254]:80") == 422
    assert put("self", "http://127.0.0.1:8001") == 422
    assert put("self2", "http://localhost:8001") == 422
    assert put("path", "http://127.0.0.1:9000/admin") == 422
    assert put("ftp", "ftp://127.0.0.1:21") == 422
    assert put("noport", "http://127.0.0.1") == 422
    assert put("fine", "http://127.0.0.1:9000") == 201
    assert put("fine", "http://127.0.0.1:9001") == 200
    names = [u["name"] for u in api.get("/upstreams").json()["upstreams"]]
    assert names == ["fine", "legacy"]
    delete = api.client.request("DELETE", "/api/v1/upstreams/legacy", json={}, headers=api.headers("admin"))
    assert delete.status_code == 400
    # even with a valid token, a state-changing request must be JSON (or carry a CSRF token)
    bare = api.client.delete("/api/v1/upstreams/fine", headers=api.headers("admin"))
    assert bare.status_code == 403


def test_users_tokens_and_override_tokens(api: Api) -> None:
    created = api.client.post(
        "/api/v1/users",
        json={"username": "bob", "password": "another long password", "role": "operator"},
        headers=api.headers("admin"),
    )
    assert created.status_code == 201 and created.json()["role"] == "operator"
    assert api.post("/users", {"username": "eve", "password": "x" * 20}, role="operator").status_code == 403
    token = api.post("/tokens", {"name": "mine"}, role="viewer").json()["token"]
    assert (
        api.client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"}).json()["role"]
        == "viewer"
    )
    minted = api.post("/override-token", {"side": "new", "ttl_s": 60})
    assert minted.status_code == 201
    from strangler_proxy.override import verify_override

    key = (api.services.settings.secrets_dir / "override.key").read_text().strip().encode()
    assert verify_override(key, minted.json()["token"], now=minted.json()["expires_at"] - 1) == "new"


def test_unknown_api_paths_answer_json(api: Api) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api.get("/versions/999").status_code == 404
    assert api.get("/routes/unknown").status_code == 404


def test_stats_shadow_workers_and_health_views(api: Api) -> None:
    import time
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from strangler_proxy.store.schema import dataplane_workers, shadow_samples
    from tests.unit.controlplane.fake_dataplane import write_second, write_shadow

    _register_catalog(api)
    engine = api.services.engine
    second = int(time.time()) - 2
    write_second(engine, second=second, route="catalog", target="legacy", requests=30, latency_ms=8)
    write_second(engine, second=second, route="catalog", target="new", requests=10, errors=1, latency_ms=40)
    write_shadow(engine, second=second, route="catalog", matches=9, mismatches=1)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(shadow_samples).values(
                at=now,
                route="catalog",
                version=2,
                method="GET",
                path="/catalog/1",
                legacy_status=200,
                new_status=200,
                diff='{"price": [1, 2]}',
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            )
        )
        conn.execute(
            insert(dataplane_workers).values(
                worker="h:1", pid=1, version_id=2, generation=2, applied_at=now, heartbeat_at=now
            )
        )
    [catalog] = [r for r in api.get("/stats?window=5").json()["routes"] if r["route"] == "catalog"]
    assert catalog["legacy"]["requests"] == 30 and catalog["legacy"]["rps"] == 6.0
    assert catalog["new"]["error_rate"] == 0.1 and 20 < catalog["new"]["p50_ms"] <= 50
    assert catalog["shadow"]["parity"] == 0.9
    points = api.get("/stats/catalog/series?seconds=10").json()["points"]
    assert len(points) == 10 and sum(p["new"]["requests"] for p in points) == 10
    [sample] = api.get("/shadow?route=catalog").json()["samples"]
    assert sample["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert api.get(f"/shadow/{sample['id']}").json()["diff"] == '{"price": [1, 2]}'
    workers = api.get("/workers").json()
    assert workers["active_version"] == 2 and workers["workers"][0]["current"] is True
    health = {u["name"]: u for u in api.get("/upstreams/health").json()["upstreams"]}
    assert health["catalog"]["healthy"] is False and "Connect" in health["catalog"]["error"]


def test_audit_filters(api: Api) -> None:
    _register_catalog(api)
    api.post("/panic", {"reason": "drill"})
    assert [e["action"] for e in api.get("/audit?actor=operator-user&outcome=ok").json()["entries"]] == [
        "panic",
        "route.add",
    ]
    [panic] = api.get("/audit?action=panic").json()["entries"]
    assert (panic["version_before"], panic["version_after"], panic["reason"]) == (2, 3, "drill")
    assert panic["address"] == "testclient" and panic["diff"] == ""  # the route was legacy already
    [added] = api.get("/audit?action=route.add").json()["entries"]
    assert added["diff"].startswith("--- v1\n+++ v2") and '+      "name": "catalog"' in added["diff"]
    assert api.get("/audit?since=2999-01-01T00:00:00").json()["entries"] == []
    assert api.get("/audit?since=yesterday").status_code == 400


def test_the_active_version_says_it_is_active_and_gives_the_pointer_under_its_own_key(api: Api) -> None:
    _register_catalog(api)
    active = api.get("/versions/active").json()
    assert active["version"] == 2 and active["active"] is True
    assert active["pointer"]["version"] == 2 and active["pointer"]["previous_version"] == 1
    assert api.get("/versions/1").json()["active"] is False
