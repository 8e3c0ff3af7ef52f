"""Finding 5: the control plane checks the Host header, so a page on a name that resolves to it (DNS
rebinding) passes no same-origin check: login, readiness and every page answer it 400."""

from __future__ import annotations

import pytest

from strangler_proxy.controlplane.settings import ControlPlaneSettings
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

REBOUND = {"Host": "rebound.example:8001", "Origin": "http://rebound.example:8001"}


def test_a_rebound_name_reaches_neither_login_nor_readiness(api: Api) -> None:
    password = api.services.settings.admin_password_file.read_text().strip()
    login = api.client.post(
        "/api/v1/session", json={"username": "admin", "password": password}, headers=REBOUND
    )
    assert login.status_code == 400 and "set-cookie" not in login.headers
    form = api.client.post("/login", data={"username": "admin", "password": password}, headers=REBOUND)
    assert form.status_code == 400
    assert api.client.get("/readyz", headers=REBOUND).status_code == 400
    assert api.client.get("/api/v1/routes", headers={**REBOUND, **api.headers("viewer")}).status_code == 400
    same = api.client.post("/api/v1/session", json={"username": "admin", "password": password})
    assert same.status_code == 200, "the configured host still works"


def test_loopback_is_trusted_by_default_and_more_hosts_come_from_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ControlPlaneSettings().trusted_hosts == ["127.0.0.1", "localhost", "[::1]"]
    monkeypatch.setenv("STRANGLER_ADMIN_ALLOWED_HOSTS", "admin.example.com, *.ops.example.com")
    monkeypatch.setenv("STRANGLER_ADMIN_HOST", "10.0.0.5")
    assert ControlPlaneSettings().trusted_hosts == [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.0.0.5",
        "admin.example.com",
        "*.ops.example.com",
    ]
