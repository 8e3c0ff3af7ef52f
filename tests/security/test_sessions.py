"""Finding 2 (and the cookie part of 8): sessions and tokens end. Logout ends the session on the server,
a password, role or enabled-state change ends every session and token of the user, tokens expire and
act within their scope, and users list and revoke them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

PASSWORD = "a long enough password"
COOKIE = "strangler_session"
FLIP = "/api/v1/routes/catalog/flip"


def _login(client: TestClient, username: str) -> tuple[str, str]:
    """Sign in; the session cookie and its CSRF token."""
    client.cookies.clear()
    response = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE], response.json()["csrf_token"]


def _with_cookie(client: TestClient, cookie: str, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return client.request(method, path, **kwargs)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_logout_ends_the_session_on_the_server(api: Api) -> None:
    """The old cookie and its CSRF token stop working after logout, a dry-run flip included."""
    cookie, csrf = _login(api.client, "operator-user")
    dry_run = {"mode": "new", "upstream": "legacy", "reason": "r", "dry_run": True}
    before = _with_cookie(api.client, cookie, "POST", FLIP, json=dry_run, headers={"X-CSRF-Token": csrf})
    assert before.status_code != 401
    out = _with_cookie(api.client, cookie, "DELETE", "/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200
    assert _with_cookie(api.client, cookie, "GET", "/api/v1/session").status_code == 401
    after = _with_cookie(api.client, cookie, "POST", FLIP, json=dry_run, headers={"X-CSRF-Token": csrf})
    assert after.status_code == 401


@pytest.mark.parametrize(
    "change",
    [{"password": "a brand new password"}, {"role": "viewer"}, {"disabled": True}],
    ids=["password", "role", "disabled"],
)
def test_a_change_to_the_user_ends_its_sessions_and_tokens(api: Api, change: dict[str, object]) -> None:
    cookie, _ = _login(api.client, "operator-user")
    token = api.tokens["operator"]
    assert _with_cookie(api.client, cookie, "GET", "/api/v1/session").status_code == 200
    api.client.cookies.clear()
    patched = api.client.patch("/api/v1/users/operator-user", json=change, headers=api.headers("admin"))
    assert patched.status_code == 200, patched.text
    assert _with_cookie(api.client, cookie, "GET", "/api/v1/session").status_code == 401
    api.client.cookies.clear()
    assert api.client.get("/api/v1/session", headers=_bearer(token)).status_code == 401


def test_disabling_and_enabling_a_user_does_not_bring_its_old_sessions_back(api: Api) -> None:
    cookie, _ = _login(api.client, "operator-user")
    api.client.cookies.clear()
    for disabled in (True, False):
        response = api.client.patch(
            "/api/v1/users/operator-user", json={"disabled": disabled}, headers=api.headers("admin")
        )
        assert response.status_code == 200
    assert _with_cookie(api.client, cookie, "GET", "/api/v1/session").status_code == 401
    api.client.cookies.clear()
    assert api.client.get("/api/v1/session", headers=api.headers("operator")).status_code == 401
    _login(api.client, "operator-user")  # a new login works again


def test_tokens_have_a_scope_and_an_expiry_and_are_listed_and_revoked(api: Api) -> None:
    created = api.client.post(
        "/api/v1/tokens",
        json={"name": "dashboards", "scope": "viewer", "expires_in_s": 3600},
        headers=api.headers("admin"),
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert body["scope"] == "viewer" and body["expires_at"] and body["token"].startswith("sft_")
    narrow = _bearer(body["token"])
    assert api.client.get("/api/v1/routes", headers=narrow).status_code == 200
    assert api.client.get("/api/v1/users", headers=narrow).status_code == 403  # scope, not the user's role
    too_much = api.client.post("/api/v1/tokens", json={"scope": "admin"}, headers=api.headers("operator"))
    assert too_much.status_code == 403
    endless = api.client.post(
        "/api/v1/tokens", json={"expires_in_s": 10 * 365 * 24 * 3600}, headers=api.headers("admin")
    )
    assert endless.status_code == 422
    listed = api.client.get("/api/v1/tokens", headers=api.headers("admin")).json()["tokens"]
    mine = next(t for t in listed if t["id"] == body["id"])
    assert (mine["name"], mine["scope"], mine["expires_at"]) == ("dashboards", "viewer", body["expires_at"])
    assert "token" not in mine
    revoked = api.client.request(
        "DELETE", f"/api/v1/tokens/{body['id']}", json={}, headers=api.headers("admin")
    )
    assert revoked.status_code == 200
    assert api.client.get("/api/v1/routes", headers=narrow).status_code == 401


def test_users_revoke_their_own_tokens_and_admins_anyones(api: Api) -> None:
    everyone = api.client.get("/api/v1/tokens?user=*", headers=api.headers("admin")).json()["tokens"]
    viewer_token = next(t for t in everyone if t["user"] == "viewer-user")
    assert api.client.get("/api/v1/tokens?user=*", headers=api.headers("operator")).status_code == 403
    other = api.client.request(
        "DELETE", f"/api/v1/tokens/{viewer_token['id']}", json={}, headers=api.headers("operator")
    )
    assert other.status_code == 404
    assert api.client.get("/api/v1/session", headers=api.headers("viewer")).status_code == 200
    by_admin = api.client.request(
        "DELETE", f"/api/v1/tokens/{viewer_token['id']}", json={}, headers=api.headers("admin")
    )
    assert by_admin.status_code == 200
    assert api.client.get("/api/v1/session", headers=api.headers("viewer")).status_code == 401


def test_over_https_the_session_cookie_is_secure_and_host_only(
    settings: ControlPlaneSettings, services: ControlPlaneServices
) -> None:
    """Served over HTTPS, or behind TLS ended in front (STRANGLER_ADMIN_HTTPS): Secure and __Host-."""
    services.auth.create_user("hana", PASSWORD, Role.VIEWER)
    for base_url, behind_tls in (("https://testserver", False), ("http://testserver", True)):
        configured = settings.model_copy(update={"admin_https": behind_tls})
        app_services = services.__class__(**{**services.__dict__, "settings": configured})
        with TestClient(create_app(configured, app_services), base_url=base_url) as client:
            response = client.post("/api/v1/session", json={"username": "hana", "password": PASSWORD})
            assert response.status_code == 200, response.text
            set_cookie = response.headers["set-cookie"]
            assert set_cookie.startswith("__Host-strangler_session="), set_cookie
            assert "secure" in set_cookie.lower() and "path=/" in set_cookie.lower()
            assert "domain" not in set_cookie.lower()
