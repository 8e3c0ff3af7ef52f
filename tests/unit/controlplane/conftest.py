"""Fixtures for the control plane's fast tests: a store in tmp_path, the services, a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.store.engine import make_engine

CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id at a test cost: the same algorithm, a fraction of the time."""


@pytest.fixture
def settings(tmp_path: Path) -> ControlPlaneSettings:
    return ControlPlaneSettings(
        home=tmp_path / "home",
        legacy_url="http://127.0.0.1:8100",
        guards_enabled=False,
        admin_port=8001,
        admin_allowed_hosts=("testserver",),
    )


@pytest.fixture
def services(settings: ControlPlaneSettings) -> Iterator[ControlPlaneServices]:
    built = build_services(settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2)
    built.bootstrap()
    yield built
    built.engine.dispose()


@dataclass
class Api:
    """A TestClient plus one bearer token per role."""

    client: TestClient
    services: ControlPlaneServices
    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "viewer", **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get("/api/v1" + path, headers=self.headers(role), **kwargs)

    def post(self, path: str, body: dict, role: str = "operator"):  # type: ignore[no-untyped-def]
        return self.client.post("/api/v1" + path, json=body, headers=self.headers(role))


@pytest.fixture
def api(settings: ControlPlaneSettings, services: ControlPlaneServices) -> Iterator[Api]:
    tokens = {}
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        user = services.auth.create_user(f"{role.label}-user", "a long enough password", role)
        tokens[role.label] = services.tokens.issue(user, "test").token
    with TestClient(create_app(settings, services)) as client:
        yield Api(client, services, tokens)
