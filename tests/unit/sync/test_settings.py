from __future__ import annotations

from pathlib import Path

import pytest

from acl.sync.settings import SyncSettings

pytestmark = pytest.mark.unit


def test_settings_read_their_own_variables_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"CATALOG_PORT": "60779", "TRANSPORT": "redis", "ORIGIN": "x", "STREAM": "y"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    monkeypatch.delenv("STRANGLER_SYNC_CATALOG_PORT", raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_TRANSPORT", raising=False)
    monkeypatch.delenv("LEGACYSHOP_INTERNAL_TOKEN", raising=False)
    monkeypatch.delenv("LEGACYSHOP_DATA_DIR", raising=False)
    settings = SyncSettings()
    assert settings.catalog_port_factory == "new_services.catalog.adapters.sync_port:create_port"
    assert (settings.transport, settings.origin, settings.stream) == (
        "sql",
        "catalog",
        "strangler:sync:legacy",
    )
    assert settings.sync_database_url == f"sqlite:///{tmp_path.resolve() / 'sync' / 'sync.sqlite3'}"
    with pytest.raises(RuntimeError, match="LEGACYSHOP_INTERNAL_TOKEN"):
        settings.internal_token()
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "internal_token").write_text("abc\n")
    assert settings.internal_token() == "abc"
