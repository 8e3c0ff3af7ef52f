"""Settings come from the environment once, into a frozen object."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from new_services.catalog.settings import CatalogSettings

pytestmark = pytest.mark.unit


def test_defaults_live_under_strangler_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "CATALOG_DATABASE_URL",
        "CATALOG_PORT",
        "STRANGLER_LEGACY_DATABASE_URL",
        "LEGACYSHOP_CSRF_TRUSTED_ORIGINS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    settings = CatalogSettings()
    assert settings.port == 8201 and settings.host == "127.0.0.1"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/services/catalog/catalog.sqlite3"
    assert settings.legacy_database_url == f"sqlite:///{tmp_path.resolve()}/legacy/legacy.sqlite3"
    assert settings.csrf_trusted_origins == ()


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_DATABASE_URL", "postgresql://u@h/catalog")
    monkeypatch.setenv("CATALOG_PORT", "9999")
    monkeypatch.setenv("STRANGLER_LEGACY_DATABASE_URL", "postgresql://u@h/legacy")
    monkeypatch.setenv("LEGACYSHOP_CSRF_TRUSTED_ORIGINS", "https://shop.example, https://www.shop.example")
    settings = CatalogSettings()
    assert (settings.database_url, settings.port) == ("postgresql://u@h/catalog", 9999)
    assert settings.legacy_database_url == "postgresql://u@h/legacy"
    assert settings.csrf_trusted_origins == ("https://shop.example", "https://www.shop.example")


def test_settings_are_frozen_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CatalogSettings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    monkeypatch.setenv("CATALOG_PORT", "70000")
    with pytest.raises(ValidationError):
        CatalogSettings()
