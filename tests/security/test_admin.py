"""Point 4: the admin surface. Authentication everywhere, no escalation, CSRF, session fixation, login
throttling, secrets kept out of logs, denials audited, upstream addresses checked, and the admin API
out of the data plane's reach."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request

import pytest
from starlette.routing import BaseRoute, Mount, Route

from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.denials import DenialFilter
from tests.security.conftest import Front
from tests.unit.controlplane.conftest import Api

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/api/v1/session"),
}
PASSWORD = "a long enough password"


def _endpoints(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/static":
                continue
            found += _endpoints(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = re.sub(r"\{[^}:]+(:int)?\}", lambda m: "1" if m.group(1) else "x", prefix + route.path)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


@pytest.mark.unit
def test_no_endpoint_answers_without_authentication(api: Api) -> None:
    endpoints = _endpoints(api.client.app.routes)  # type: ignore[attr-defined]
    assert len(endpoints) > 40, endpoints
    api.client.cookies.clear()
    for method, path in endpoints:
        if (method, path) in PUBLIC:
            continue
        response = api.client.request(
            method, path, json={}, headers={"content-type": "application/json"}, follow_redirects=False
        )
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code in (303, 401, 403), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login"), (method, path)


@pytest.mark.unit
def test_no_role_escalation(api: Api) -> None:
    body = {"username": "mallory", "password": PASSWORD, "role": "admin"}
    for role in ("viewer", "operator"):
        response = api.client.post("/api/v1/users", json=body, headers=api.headers(role))
        assert response.status_code == 403, response.text
        response = api.client.patch(
            f"/api/v1/users/{role}-user", json={"role": "admin"}, headers=api.headers(role)
        )
        assert response.status_code == 403, response.text
    assert api.services.tokens.principal(api.tokens["viewer"]).role is Role.VIEWER  # type: ignore[union-attr]


def _login(api: Api, username: str = "admin-user", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return api.client.post("/api/v1/session", json={"username": username, "password": password})


@pytest.mark.unit
def test_cross_site_and_text_plain_requests_are_refused(api: Api) -> None:
    assert _login(api).status_code == 200
    flip = "/api/v1/routes/x/flip"
    form = api.client.post(flip, data={"to": "new"})
    text = api.client.post(flip, content=b'{"to": "new"}', headers={"content-type": "text/plain"})
    cross = api.client.post(flip, json={"to": "new"}, headers={"origin": "https://evil.example"})
    for response in (form, text, cross):
        assert response.status_code == 403, response.text
    ui_form = api.client.post("/ui/panic", data={"reason": "x"}, follow_redirects=False)
    assert ui_form.status_code == 403


@pytest.mark.unit
def test_login_issues_a_fresh_session_whatever_cookie_came_in(api: Api) -> None:
    api.client.cookies.set("strangler_session", "attacker-chosen-value")
    response = _login(api)
    assert response.status_code == 200
    issued = response.cookies.get("strangler_session")
    assert issued and issued != "attacker-chosen-value"
    assert api.services.sessions.principal("attacker-chosen-value") is None
    again = _login(api).cookies.get("strangler_session")
    assert again and again != issued
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie


@pytest.mark.unit
def test_denied_api_calls_are_audited(api: Api) -> None:
    api.client.cookies.clear()
    assert api.client.get("/api/v1/users").status_code == 401
    assert api.client.get("/api/v1/users", headers=api.headers("viewer")).status_code == 403
    rows = api.services.denials.search(DenialFilter())
    reasons = {(row.actor, row.reason) for row in rows}
    assert ("anonymous", "not authenticated") in reasons
    assert any(actor == "viewer-user" and "admin" in reason for actor, reason in reasons)


@pytest.mark.unit
def test_tokens_and_passwords_never_reach_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret_password = "never log this passphrase"
    _login(api, password=secret_password)
    _login(api)
    token = (
        api.client.post("/api/v1/tokens", json={"name": "ci"}, headers=api.headers("admin"))
        .json()
        .get("token", "")
    )
    api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    api.client.get("/api/v1/users", headers={"Authorization": "Bearer wrong-token-value"})
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (secret_password, PASSWORD, token, "wrong-token-value", *api.tokens.values()):
        assert secret and secret not in text


@pytest.mark.integration
@pytest.mark.xdist_group("security-framing")
def test_the_admin_api_is_unreachable_through_the_data_plane(front: Front) -> None:
    front.upstream.requests.clear()
    for path in ("/api/v1/users", "/api/v1/session", "/login", "/ui/panic"):
        with urllib.request.urlopen(front.dataplane.url + path, timeout=10) as response:
            assert response.read().startswith(b"recorded")  # the legacy answered, not a control plane
    assert front.upstream.paths() == ["/api/v1/users", "/api/v1/session", "/login", "/ui/panic"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(front.dataplane.url + "/_strangler/../api/v1/users", timeout=10)
    assert caught.value.code == 400  # a dot segment, refused before routing
    request = urllib.request.Request(front.dataplane.url + "/_strangler/healthz", method="POST", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405
