"""The port the sync processes load by name: upsert records, read them back in id order, count."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from acl.catalog import ProductRecord, product_from_legacy_row
from new_services.catalog.config import CatalogSettings
from new_services.catalog.entrypoints.sync_port import create_port
from tests.unit.acl.legacy_db import legacy_row

pytestmark = pytest.mark.unit


def records(*ids: int, **overrides: object) -> list[ProductRecord]:
    return [product_from_legacy_row(legacy_row(i, **overrides)) for i in ids]


def test_port_upserts_and_reads_back_in_id_order(tmp_path: Path) -> None:
    port = create_port(CatalogSettings(strangler_home=tmp_path))
    try:
        assert port.count_products() == 0
        assert port.apply_products(records(5, 1, 3, 2, 4)) == 5
        assert port.apply_products(records(3, prd_nm="Renamed", upd_dt=datetime(2020, 1, 1, 12, 0))) == 1
        back = list(port.product_records(batch_size=2))
        assert [record.id for record in back] == [1, 2, 3, 4, 5]
        assert back[2].name == "Renamed"
        assert back[0] == records(1)[0]  # the published language survives the round trip unchanged
        assert port.count_products() == 5
    finally:
        port.close()
    assert (tmp_path / "services" / "catalog" / "catalog.sqlite3").is_file()


def test_port_has_the_methods_sync_calls(tmp_path: Path) -> None:
    port = create_port(CatalogSettings(strangler_home=tmp_path))
    try:
        for name in ("apply_products", "product_records", "count_products", "close"):
            assert callable(getattr(port, name))
        with pytest.raises(ValueError, match="batch_size"):
            next(port.product_records(batch_size=0))
    finally:
        port.close()
