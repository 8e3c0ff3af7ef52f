"""Control-plane settings: loopback by default, the store under STRANGLER_HOME, frozen."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from strangler_proxy.controlplane.settings import ControlPlaneSettings

pytestmark = pytest.mark.unit


def test_defaults_bind_loopback_and_keep_state_under_home(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "STRANGLER_ADMIN_HOST",
        "STRANGLER_ADMIN_PORT",
        "STRANGLER_STORE_URL",
        "STRANGLER_UPSTREAMS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    settings = ControlPlaneSettings()
    assert (settings.admin_host, settings.admin_port) == ("127.0.0.1", 8001)
    assert settings.resolved_store_url == f"sqlite:///{tmp_path.resolve() / 'store.sqlite3'}"
    assert settings.admin_password_file == tmp_path / "secrets" / "admin_password"
    with pytest.raises(ValidationError):
        settings.admin_port = 9000  # type: ignore[misc]


def test_environment_overrides(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STRANGLER_STORE_URL", "postgresql+psycopg://u@127.0.0.1:5432/store")
    monkeypatch.setenv("STRANGLER_ADMIN_PORT", "9101")
    monkeypatch.setenv("STRANGLER_UPSTREAMS", "catalog=http://127.0.0.1:8201")
    settings = ControlPlaneSettings()
    assert settings.resolved_store_url == "postgresql+psycopg://u@127.0.0.1:5432/store"
    assert settings.admin_port == 9101 and settings.upstreams == {"catalog": "http://127.0.0.1:8201"}
    monkeypatch.setenv("STRANGLER_ADMIN_PORT", "70000")
    with pytest.raises(ValidationError):
        ControlPlaneSettings()


def test_a_service_moved_in_the_configuration_is_named_at_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The address is not frozen at the first start without a word: the next start says what differs."""
    from strangler_proxy.controlplane.service_layer import build_services
    from strangler_proxy.store.engine import make_engine
    from tests.unit.controlplane.conftest import CHEAP_ARGON2

    first = ControlPlaneSettings(home=tmp_path / "home", upstreams={"things": "http://127.0.0.1:9201"})
    for settings in (first, first.model_copy(update={"upstreams": {"things": "http://127.0.0.1:9301"}})):
        built = build_services(
            settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2
        )
        with caplog.at_level(logging.WARNING, logger="strangler_proxy.controlplane.service_layer.bootstrap"):
            built.bootstrap()
        built.engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert (
        "things stays at http://127.0.0.1:9201" in warnings[0]
        and "strangler routes register things" in warnings[0]
    )
