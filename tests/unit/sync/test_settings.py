from __future__ import annotations

import os
from pathlib import Path

import pytest

from acl.sync.pipelines import DEFAULT_PIPELINES, load_pipelines, sync_settings
from acl.sync.settings import SyncSettings

pytestmark = pytest.mark.unit


def test_settings_read_their_own_variables_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"CATALOG_PORT": "60779", "TRANSPORT": "redis", "ORIGIN": "x", "STREAM": "y"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    monkeypatch.delenv("STRANGLER_SYNC_CATALOG_PORT", raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_TRANSPORT", raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_INTERNAL_TOKEN", raising=False)
    monkeypatch.delenv("STRANGLER_LEGACY_DATA_DIR", raising=False)
    settings = SyncSettings()
    assert settings.catalog_port_factory == "new_services.catalog.adapters.sync_port:create_port"
    assert (settings.transport, settings.origin, settings.stream) == (
        "sql",
        "catalog",
        "strangler:sync:legacy",
    )
    assert settings.sync_database_url == f"sqlite:///{tmp_path.resolve() / 'sync' / 'sync.sqlite3'}"
    with pytest.raises(RuntimeError, match="STRANGLER_SYNC_INTERNAL_TOKEN"):
        settings.internal_token()
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "internal_token").write_text("abc\n")
    assert settings.internal_token() == "abc"


def test_the_demos_old_variable_names_reach_its_workers_through_its_pipelines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "STRANGLER_SYNC_INTERNAL_TOKEN",
        "STRANGLER_LEGACY_INTERNAL_TOKEN",
        "STRANGLER_LEGACY_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEGACYSHOP_INTERNAL_TOKEN", "old-name")
    monkeypatch.setenv("LEGACYSHOP_DATA_DIR", str(tmp_path))
    pipelines = load_pipelines(DEFAULT_PIPELINES)
    settings = sync_settings(pipelines, os.environ)
    assert (settings.internal_token(), settings.legacy_data_dir) == ("old-name", tmp_path)
    # The generic engine alone reads none of them; a generic name set wins over the alias.
    assert SyncSettings().internal_token_value is None and SyncSettings().legacy_data_dir is None
    monkeypatch.setenv("STRANGLER_SYNC_INTERNAL_TOKEN", "generic")
    assert sync_settings(pipelines, os.environ).internal_token() == "generic"
