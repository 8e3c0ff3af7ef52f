from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from acl.catalog.source import LegacyProductSource, read_only_engine
from acl.catalog.sync.backfill import run_catalog_backfill
from acl.catalog.sync.reconcile import reconcile_catalog, reconcile_records
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.reconcile import Difference
from tests.unit.acl.legacy_db import legacy_row, make_legacy_database
from tests.unit.sync.fakes import FakePort

pytestmark = pytest.mark.unit


@pytest.fixture
def source(tmp_path: Path):
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [legacy_row(n) for n in range(1, 26)])
    engine = read_only_engine(url)
    yield LegacyProductSource(engine)
    engine.dispose()


def test_backfill_resumes_from_its_checkpoint(source, sync_db) -> None:
    port, checkpoints = FakePort(), CheckpointStore(sync_db)
    first = run_catalog_backfill(source, port, checkpoints, batch_size=10, max_pages=1)
    assert (first.written, first.complete, first.started_after) == (10, False, 0)
    second = run_catalog_backfill(source, port, checkpoints, batch_size=10)
    assert (second.written, second.complete, second.started_after) == (15, True, 10)
    assert sorted(port.products) == list(range(1, 26))
    third = run_catalog_backfill(source, port, checkpoints, batch_size=10)  # finished: from the start
    assert (third.written, third.started_after) == (25, 0)
    assert reconcile_catalog(source, port).ok


def test_reconcile_lists_every_kind_of_difference(source) -> None:
    port = FakePort()
    records = [record for page in source.pages() for record in page.records]
    port.apply_products(records)
    del port.products[3]
    port.products[7] = replace(port.products[7], stock=99, name="Renamed")
    port.products[40] = replace(records[0], id=40)
    report = reconcile_catalog(source, port)
    assert (report.legacy_count, report.service_count) == (25, 25)
    assert report.differences == [
        Difference(3, "missing_in_service"),
        Difference(7, "different", ("name", "stock")),
        Difference(40, "missing_in_legacy"),
    ]
    assert not report.ok
    assert reconcile_records([], []).ok


class VersionedPort(FakePort):
    """A port that keeps the fields versions a backfill seeds."""

    def __init__(self) -> None:
        super().__init__()
        self.field_versions: dict[int, int] = {}

    def record_field_versions(self, versions: dict[int, int]) -> None:
        self.field_versions.update(versions)


def test_a_backfill_seeds_the_monolith_s_fields_versions(tmp_path: Path, sync_db) -> None:
    url = make_legacy_database(tmp_path / "versioned.sqlite3", [legacy_row(n) for n in range(1, 4)])
    writable = create_engine(url)
    with writable.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE internal_aggregate_version (id integer PRIMARY KEY, aggregate_type varchar(30),"
                " aggregate_id varchar(40), version int)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO internal_aggregate_version (aggregate_type, aggregate_id, version)"
                " VALUES ('product', '2', 4), ('order', '1', 9)"
            )
        )
    writable.dispose()
    engine = read_only_engine(url)
    try:
        port = VersionedPort()
        run_catalog_backfill(LegacyProductSource(engine), port, CheckpointStore(sync_db), batch_size=10)
    finally:
        engine.dispose()
    assert port.field_versions == {2: 4}  # an order's version is not a product's
