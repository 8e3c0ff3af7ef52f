"""The catalog's port applies the monolith's changes of a product's other fields as versioned changes: one
behind applies, a product renamed here meanwhile parks the change with both values, a resolution
applies whatever the version; each change once. The catalog's migration seeds existing products at 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from acl.catalog.records import ProductRecord, ProductStatus
from acl.catalog.sync.fields import FieldChange
from acl.sync.core.stock import StockChange
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.sync_port import CatalogSyncPort
from new_services.kit.engine import make_engine

pytestmark = pytest.mark.unit

MOMENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _record(product_id: int, name: str = "Knife") -> ProductRecord:
    return ProductRecord(
        id=product_id,
        sku=f"LS-{product_id:06d}",
        name=name,
        description="",
        price=Decimal("19.90"),
        stock=4,
        status=ProductStatus.ACTIVE,
        category=("Home", "Kitchen"),
        created_at=MOMENT,
        updated_at=MOMENT,
    )


@pytest.fixture
def port(tmp_path: Path) -> Iterator[CatalogSyncPort]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    MIGRATIONS.upgrade_to_head(engine)
    held = CatalogSyncPort(engine)
    held.apply_products([_record(1), _record(2)])
    try:
        yield held
    finally:
        held.close()


def _change(event: str, version: int, name: str, *, force: bool = False) -> FieldChange:
    return FieldChange(event, "legacy", 1, version, {"prd_nm": name}, "2026-03-02T10:00:00", force=force)


def _name(port: CatalogSyncPort) -> str:
    [record] = [r for r in port.product_records() if r.id == 1]
    return record.name


def test_changes_one_behind_apply_once(port: CatalogSyncPort) -> None:
    assert port.apply_field_changes([_change("e1", 1, "First"), _change("e2", 2, "Second")]) == [
        "applied",
        "applied",
    ]
    assert port.apply_field_changes([_change("e2", 2, "Second")]) == ["duplicate"]
    assert _name(port) == "Second" and port.fields_version(1) == 2
    [record] = [r for r in port.product_records() if r.id == 1]
    assert record.updated_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert record.stock == 4  # a rename never moves the stock


def test_a_change_crossing_one_made_here_is_parked_with_both_values(port: CatalogSyncPort) -> None:
    assert port.apply_field_changes([_change("mine", 1, "Renamed here")]) == ["applied"]
    assert port.apply_field_changes([_change("theirs", 1, "Renamed there")]) == ["conflict"]
    assert _name(port) == "Renamed here"
    with port._engine.connect() as connection:
        row = connection.execute(text("SELECT field, ours, theirs, found_version FROM sync_conflict")).one()
    assert row.field == "fields" and json.loads(row.ours) == {"prd_nm": "Renamed here"}
    assert json.loads(row.theirs)["prd_nm"] == "Renamed there" and row.found_version == 1
    # an operator's resolution applies whatever the version, and takes it
    assert port.apply_field_changes([_change("resolved", 7, "Chosen", force=True)]) == ["applied"]
    assert _name(port) == "Chosen" and port.fields_version(1) == 7


def test_a_backfill_seeds_versions_and_never_lowers_one(port: CatalogSyncPort) -> None:
    port.record_field_versions({1: 3, 2: 0})
    assert port.fields_version(1) == 3 and port.fields_version(2) == 0
    port.record_field_versions({1: 2})
    assert port.fields_version(1) == 3


def test_the_migration_seeds_the_products_already_held_at_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        config = MIGRATIONS._config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        CatalogSyncPort(engine).apply_products([_record(5)])
        MIGRATIONS.upgrade_to_head(engine)
        assert CatalogSyncPort(engine).fields_version(5) == 1
    finally:
        engine.dispose()


def test_a_resolution_expecting_a_version_no_longer_held_applies_nothing_and_records_nothing(
    port: CatalogSyncPort,
) -> None:
    """A forced change is a compare-and-set: a change acknowledged here after the resolver read the
    version is never overwritten; the same resolution, sent again expecting the version held, applies."""
    assert port.apply_field_changes([_change("before", 1, "Read by the resolver")]) == ["applied"]
    assert port.apply_field_changes([_change("after", 2, "Acknowledged meanwhile")]) == ["applied"]
    stale = FieldChange("resolved", "resolution", 1, 7, {"prd_nm": "Chosen"}, force=True, expect_version=1)
    assert port.apply_field_changes([stale]) == ["changed"]
    assert _name(port) == "Acknowledged meanwhile" and port.fields_version(1) == 2
    assert not port.has_applied("resolved")  # not recorded: resolving again evaluates it again
    current = FieldChange("resolved", "resolution", 1, 7, {"prd_nm": "Chosen"}, force=True, expect_version=2)
    assert port.apply_field_changes([current]) == ["applied"]
    assert _name(port) == "Chosen" and port.fields_version(1) == 7 and port.has_applied("resolved")


def test_a_stock_resolution_expecting_a_stock_version_no_longer_held_applies_nothing(
    port: CatalogSyncPort,
) -> None:
    level = StockChange("move", "legacy", 1, delta=2, level=6, version=1)
    assert port.apply_stock_changes([level]) == ["applied"]
    assert port.stock_state(1) == (6, 1)
    moment = "2026-03-02T10:00:00"
    assert port.resolve_stock(1, 50, version=5, event_id="r", updated=moment, expect_version=0) == "changed"
    assert port.stock_state(1) == (6, 1) and not port.has_applied("r")
    assert port.resolve_stock(1, 50, version=5, event_id="r", updated=moment, expect_version=1) == "applied"
    assert port.stock_state(1) == (50, 5)
