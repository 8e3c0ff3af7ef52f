from __future__ import annotations

import os
from pathlib import Path

import pytest

from acl.catalog.sync.settings import CatalogSyncSettings
from acl.orders.sync.settings import OrdersSyncSettings
from acl.sync.pipelines import load_pipelines, sync_settings
from acl.sync.settings import SyncSettings, SyncSettingsMissing

pytestmark = pytest.mark.unit

DEMO = "acl.catalog.sync.pipeline:PIPELINE acl.orders.sync.pipeline:PIPELINE"
DEMO_VARIABLES = (
    "STRANGLER_SYNC_ORIGIN",
    "STRANGLER_SYNC_SERVICE_DATABASE_URL",
    "STRANGLER_SYNC_DIRECTION",
    "CATALOG_DATABASE_URL",
    "ORDERS_DATABASE_URL",
    "STRANGLER_SYNC_CATALOG_PORT",
    "STRANGLER_SYNC_ORDERS_PORT",
    "STRANGLER_SYNC_ORDERS_ORIGIN",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in DEMO_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))


def test_settings_read_their_own_variables_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"CATALOG_PORT": "60779", "TRANSPORT": "redis", "ORIGIN": "x", "STREAM": "y"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STRANGLER_SYNC_TRANSPORT", raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_INTERNAL_TOKEN", raising=False)
    monkeypatch.delenv("STRANGLER_LEGACY_DATA_DIR", raising=False)
    settings = SyncSettings()
    assert CatalogSyncSettings().port_factory == "new_services.catalog.adapters.sync_port:create_port"
    assert (settings.transport, settings.origin_value, settings.stream) == (
        "sql",
        None,
        "strangler:sync:legacy",
    )
    assert settings.sync_database_url == f"sqlite:///{tmp_path.resolve() / 'sync' / 'sync.sqlite3'}"
    with pytest.raises(RuntimeError, match="STRANGLER_SYNC_INTERNAL_TOKEN"):
        settings.internal_token()
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "internal_token").write_text("abc\n")
    assert settings.internal_token() == "abc"


def test_the_generic_settings_assume_no_service_and_say_which_variable_to_set() -> None:
    settings = SyncSettings()
    with pytest.raises(SyncSettingsMissing, match="STRANGLER_SYNC_ORIGIN"):
        _ = settings.origin
    with pytest.raises(SyncSettingsMissing, match="STRANGLER_SYNC_SERVICE_DATABASE_URL"):
        _ = settings.service_database_url
    named = SyncSettings(STRANGLER_SYNC_ORIGIN="billing")
    assert (named.origin, named.reverse_direction, named.forward_consumer) == (
        "billing",
        "reverse:billing",
        "forward-billing",
    )


def test_the_demos_pipelines_give_the_generic_commands_the_catalog(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pipelines = load_pipelines(DEMO)
    settings = sync_settings(pipelines, os.environ)
    catalog_db = f"sqlite:///{tmp_path.resolve() / 'services' / 'catalog' / 'catalog.sqlite3'}"
    assert (settings.origin, settings.reverse_direction, settings.service_database_url) == (
        "catalog",
        "reverse",
        catalog_db,
    )
    monkeypatch.setenv("CATALOG_DATABASE_URL", "sqlite:///c.db")  # the demo's own name, an alias
    assert sync_settings(pipelines, os.environ).service_database_url == "sqlite:///c.db"
    monkeypatch.setenv("STRANGLER_SYNC_SERVICE_DATABASE_URL", "sqlite:///s.db")  # the generic one wins
    monkeypatch.setenv("STRANGLER_SYNC_ORIGIN", "orders")
    orders = sync_settings(pipelines, os.environ)
    assert (orders.origin, orders.reverse_direction, orders.service_database_url) == (
        "orders",
        "reverse:orders",
        "sqlite:///s.db",
    )
    monkeypatch.setenv("STRANGLER_SYNC_DIRECTION", "reverse")
    assert sync_settings(pipelines, os.environ).reverse_direction == "reverse"


def test_the_orders_pipeline_reads_its_own_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = OrdersSyncSettings()
    assert (own.origin, own.port_factory) == ("orders", "new_services.orders.adapters.sync_port:create_port")
    assert own.database_url(tmp_path) == f"sqlite:///{tmp_path / 'services' / 'orders' / 'orders.sqlite3'}"
    monkeypatch.setenv("ORDERS_DATABASE_URL", "sqlite:///o.db")
    monkeypatch.setenv("STRANGLER_SYNC_ORDERS_ORIGIN", "orders2")
    monkeypatch.setenv("ORDERS_PORT", "60780")  # the orders service's HTTP port, never its sync port
    own = OrdersSyncSettings()
    assert (own.origin, own.database_url(tmp_path)) == ("orders2", "sqlite:///o.db")
    assert own.port_factory.startswith("new_services.orders.")


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
    pipelines = load_pipelines(DEMO)
    settings = sync_settings(pipelines, os.environ)
    assert (settings.internal_token(), settings.legacy_data_dir) == ("old-name", tmp_path)
    # The generic engine alone reads none of them; a generic name set wins over the alias.
    assert SyncSettings().internal_token_value is None and SyncSettings().legacy_data_dir is None
    monkeypatch.setenv("STRANGLER_SYNC_INTERNAL_TOKEN", "generic")
    assert sync_settings(pipelines, os.environ).internal_token() == "generic"
