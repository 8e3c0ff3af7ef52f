"""Each reverse relay keeps its own ``sync_lag`` row, whoever measures it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from acl.sync.bootstrap import measure_lag
from acl.sync.core.lag import reverse_direction
from acl.sync.core.tables import legacy_outbox_metadata, sync_lag
from acl.sync.settings import SyncSettings

pytestmark = pytest.mark.unit


def test_each_service_has_its_own_reverse_row_unless_its_pipeline_names_one() -> None:
    assert reverse_direction("catalog") == "reverse:catalog"  # "reverse" only where a pipeline names it
    assert reverse_direction("orders") == "reverse:orders"
    assert len(reverse_direction("a-very-long-service-name")) == 20  # the column's width


def test_measuring_the_orders_side_never_overwrites_the_catalogs_reverse_row(tmp_path: Path) -> None:
    legacy_url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    legacy = create_engine(legacy_url)
    legacy_outbox_metadata.create_all(legacy)
    legacy.dispose()
    settings = SyncSettings(
        **{
            "STRANGLER_HOME": tmp_path,
            "STRANGLER_SYNC_LEGACY_DATABASE_URL": legacy_url,
            "STRANGLER_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'sync.sqlite3'}",
            "STRANGLER_SYNC_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'orders.sqlite3'}",
            "STRANGLER_SYNC_ORIGIN": "orders",
        }
    )
    figures = measure_lag(settings)
    assert [figure.direction for figure in figures] == ["forward", "reverse:orders"]
    sync = create_engine(settings.sync_database_url)
    with sync.connect() as connection:
        stored = set(connection.execute(select(sync_lag.c.direction)).scalars())
    sync.dispose()
    assert "reverse" not in stored and "reverse:orders" in stored
