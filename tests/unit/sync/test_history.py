"""Reconcile against the truth: each side's stock changes against the other side's inbox.

Two SQLite files hold the real tables: the monolith's ``outbox_event``, its inbox of applied events and
its stock versions; the catalog's ``service_outbox`` and ``acl.sync.core.stock``'s tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, text

from acl.catalog.sync.history import check_history
from acl.sync.core.stock import (
    StockChange,
    create_stock_sync_tables,
    park_conflict,
    record_applied,
    stock_version_next,
)
from acl.sync.core.tables import legacy_outbox_metadata, outbox_event, service_outbox, service_outbox_metadata
from acl.sync.core.versions import create_version_sync_tables, version_set

pytestmark = pytest.mark.unit


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    legacy = create_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    catalog = create_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    legacy_outbox_metadata.create_all(legacy)
    service_outbox_metadata.create_all(catalog)
    with legacy.begin() as conn:
        conn.execute(
            text("CREATE TABLE internal_applied_event (event_id char(32) PRIMARY KEY, outcome text)")
        )
        conn.execute(
            text("CREATE TABLE internal_stock_version (aggregate_id varchar(40) PRIMARY KEY, version int)")
        )
    with catalog.begin() as conn:
        create_stock_sync_tables(conn)
    yield legacy, catalog
    legacy.dispose()
    catalog.dispose()


def _legacy_version_next(conn) -> int:  # type: ignore[no-untyped-def]
    """The monolith's own count of stock changes (its Django app's ``internal_stock_version``)."""
    found = conn.execute(text("SELECT version FROM internal_stock_version WHERE aggregate_id = '7'")).scalar()
    if found is None:
        conn.execute(text("INSERT INTO internal_stock_version VALUES ('7', 1)"))
        return 1
    conn.execute(
        text("UPDATE internal_stock_version SET version = :v WHERE aggregate_id = '7'"), {"v": found + 1}
    )
    return int(found) + 1


def _change(engine: Engine, table, origin: str, sequence: int, *, delta: int = 1) -> str:  # type: ignore[no-untyped-def]
    event_id = str(uuid.uuid4())
    with engine.begin() as conn:
        version = _legacy_version_next(conn) if origin == "legacy" else stock_version_next(conn, 7)
        conn.execute(
            insert(table).values(
                event_id=event_id, aggregate_type="product", aggregate_id="7", sequence=sequence,
                event_type="product.stock_changed", origin=origin,
                payload={"prd_id": 7, "stk_qty": 10 + sequence, "stk_delta": delta, "stk_ver": version},
                occurred_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )  # fmt: skip
    return event_id


def _applied_on_catalog(catalog: Engine, event_id: str) -> None:
    with catalog.begin() as conn:
        record_applied(conn, event_id)
        stock_version_next(conn, 7)


def _applied_on_legacy(legacy: Engine, event_id: str) -> None:
    with legacy.begin() as conn:
        conn.execute(
            text("INSERT INTO internal_applied_event VALUES (:id, 'applied')"),
            {"id": uuid.UUID(event_id).hex},
        )
        _legacy_version_next(conn)


def test_every_change_applied_on_the_other_side_is_ok(sides: tuple[Engine, Engine]) -> None:
    legacy, catalog = sides
    _applied_on_catalog(catalog, _change(legacy, outbox_event, "legacy", 1))
    _applied_on_legacy(legacy, _change(catalog, service_outbox, "catalog", 1))
    report = check_history(legacy, catalog, origin="catalog")
    assert report.ok and report.to_dict()["ok"] is True


def test_changes_one_side_never_applied_show_even_when_the_sides_agree(sides: tuple[Engine, Engine]) -> None:
    legacy, catalog = sides
    _applied_on_catalog(catalog, _change(legacy, outbox_event, "legacy", 1))
    lost_forward = _change(legacy, outbox_event, "legacy", 2)
    lost_reverse = _change(catalog, service_outbox, "catalog", 1)
    report = check_history(legacy, catalog, origin="catalog")
    assert report.not_applied_on_service == [lost_forward]
    assert report.not_applied_on_legacy == [lost_reverse]
    assert not report.ok
    assert report.text_lines("catalog") == [
        "history: 1 monolith stock changes not applied on the catalog, 1 catalog stock changes not applied "
        "on the monolith, 0 products whose stock versions differ, 0 whose fields versions differ, "
        "0 open conflicts"
    ]


def test_versions_that_differ_and_open_conflicts_are_differences(sides: tuple[Engine, Engine]) -> None:
    legacy, catalog = sides
    with catalog.begin() as conn:
        stock_version_next(conn, 7)  # a change nobody recorded in an outbox
        park_conflict(
            conn, StockChange(str(uuid.uuid4()), "legacy", 7, None, 3, 1), ours=4, found_version=1, reason="x"
        )
    report = check_history(legacy, catalog, origin="catalog")
    assert report.versions_differ == ["7"] and report.open_conflicts == 1 and not report.ok


def test_fields_versions_that_differ_are_differences(sides: tuple[Engine, Engine]) -> None:
    legacy, catalog = sides
    with legacy.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE internal_aggregate_version (id integer PRIMARY KEY, aggregate_type varchar(30),"
                " aggregate_id varchar(40), version int)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO internal_aggregate_version (aggregate_type, aggregate_id, version)"
                " VALUES ('product', '7', 2), ('product', '8', 1), ('order', '7', 5)"
            )
        )
    with catalog.begin() as conn:
        create_version_sync_tables(conn)
        version_set(conn, "product", "7", 2)  # in step; product 8's change never counted here
    report = check_history(legacy, catalog, origin="catalog")
    assert report.fields_versions_differ == ["8"] and not report.ok
    assert report.to_dict()["fields_versions_differ"] == ["8"]
