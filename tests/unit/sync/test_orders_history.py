"""Reconcile orders against the truth: each side's order events against the other side's record of them.

SQLite files hold the real tables: the monolith's ``outbox_event`` and inbox of applied events, the sync
database (the orders consumer's inbox and sequences), the orders service's ``service_outbox`` and dead
letters. The backfill test copies a real legacy database into the in-memory orders port.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text

from acl.catalog.source import read_only_engine
from acl.orders.source import LegacyOrderSource
from acl.orders.sync.backfill import run_orders_backfill
from acl.orders.sync.history import check_order_history
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox
from acl.sync.core.stock import StockChange, create_stock_sync_tables, park_conflict, sync_conflict
from acl.sync.core.tables import (
    dead_letter_metadata,
    legacy_outbox_metadata,
    outbox_event,
    service_dead_letter,
    service_outbox,
    service_outbox_metadata,
    sync_aggregates,
    sync_metadata,
)
from tests.unit.sync.order_fakes import FakeOrdersPort
from tests.unit.sync.test_orders_backfill_and_reconcile import _legacy_database

pytestmark = pytest.mark.unit


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Engine, Engine, Engine]]:
    legacy = create_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    sync = create_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    orders = create_engine(f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    legacy_outbox_metadata.create_all(legacy)
    sync_metadata.create_all(sync)
    service_outbox_metadata.create_all(orders)
    dead_letter_metadata.create_all(orders)
    with legacy.begin() as conn:
        conn.execute(
            text("CREATE TABLE internal_applied_event (event_id char(32) PRIMARY KEY, outcome text)")
        )
    yield legacy, sync, orders
    for engine in (legacy, sync, orders):
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _event(engine: Engine, table, origin: str, order: str, sequence: int) -> str:  # type: ignore[no-untyped-def]
    """An order event in an outbox; the monolith's ids are stored as hex, like Django's on SQLite."""
    event_id = str(uuid.uuid4())
    stored = uuid.UUID(event_id).hex if origin == "legacy" else event_id
    with engine.begin() as conn:
        conn.execute(
            insert(table).values(
                event_id=stored, aggregate_type="order", aggregate_id=order, sequence=sequence,
                event_type="order.status_changed", origin=origin, payload={"ord_sts": "S"},
                occurred_at=_now(),
            )
        )  # fmt: skip
    return event_id


def _consumed(sync: Engine, event_id: str, order: str, sequence: int, outcome: str = "applied") -> None:
    event = SyncEvent(
        event_id=event_id, aggregate_type="order", aggregate_id=order, sequence=sequence,
        type="order.status_changed", payload={}, occurred_at=datetime.now(UTC), origin="legacy",
    )  # fmt: skip
    Inbox(sync, "orders").record([(event, outcome)])


def _applied_on_legacy(legacy: Engine, event_id: str) -> None:
    with legacy.begin() as conn:
        conn.execute(
            text("INSERT INTO internal_applied_event VALUES (:id, 'applied')"),
            {"id": uuid.UUID(event_id).hex},
        )


def test_every_event_reflected_on_the_other_side_is_ok(sides: tuple[Engine, Engine, Engine]) -> None:
    legacy, sync, orders = sides
    _consumed(sync, _event(legacy, outbox_event, "legacy", "5", 1), "5", 1)
    _event(legacy, outbox_event, "legacy", "5", 2)  # superseded: the consumer applied 3, the whole order
    _consumed(sync, _event(legacy, outbox_event, "legacy", "5", 3), "5", 3)
    _applied_on_legacy(legacy, _event(orders, service_outbox, "orders", "50000001", 1))
    dead = _event(orders, service_outbox, "orders", "50000002", 1)
    with orders.begin() as conn:
        conn.execute(
            insert(service_dead_letter).values(
                event_id=dead, aggregate_type="order", aggregate_id="50000002", sequence=1,
                event_type="order.placed", payload={}, occurred_at=_now(), origin="orders",
                reason="{}", refused_at=_now(), attempts=1,
            )
        )  # fmt: skip
    report = check_order_history(legacy, sync, orders)
    assert report.ok and report.to_dict()["ok"] is True


def test_a_loss_both_sides_share_shows_although_the_sides_agree(sides: tuple[Engine, Engine, Engine]) -> None:
    """Comparing the sides finds nothing here (neither applied the lost events); the history does."""
    legacy, sync, orders = sides
    _consumed(sync, _event(legacy, outbox_event, "legacy", "5", 1), "5", 1)
    lost_forward = _event(legacy, outbox_event, "legacy", "5", 2)
    never_consumed = _event(legacy, outbox_event, "legacy", "6", 1)
    lost_reverse = _event(orders, service_outbox, "orders", "50000001", 1)
    rejected = _event(legacy, outbox_event, "legacy", "7", 1)
    _consumed(sync, rejected, "7", 1, outcome="rejected")
    report = check_order_history(legacy, sync, orders)
    assert report.not_applied_on_service == [lost_forward, never_consumed]
    assert report.not_applied_on_legacy == [lost_reverse]
    assert report.rejected_on_service == [rejected]
    assert not report.ok and report.to_dict()["not_applied_on_service"] == 2
    assert report.text_lines(limit=0) == [
        "history: 2 monolith order events not applied on the orders service, 1 orders service order events "
        "not applied on the monolith, 1 rejected by the orders service, 0 open order conflicts"
    ]


def test_an_open_order_conflict_on_either_side_is_a_difference(sides: tuple[Engine, Engine, Engine]) -> None:
    legacy, sync, orders = sides
    with orders.begin() as conn:
        create_stock_sync_tables(conn)
        park_conflict(
            conn, StockChange(str(uuid.uuid4()), "legacy", 7, None, 3, 1), ours=4, found_version=1, reason="x"
        )  # a product's conflict: not the orders' business
    assert check_order_history(legacy, sync, orders).ok
    with orders.begin() as conn:
        conn.execute(sync_conflict.update().values(aggregate_type="order"))
    report = check_order_history(legacy, sync, orders)
    assert report.open_conflicts == 1 and not report.ok


def test_the_backfill_marks_what_it_copied_so_its_orders_events_are_reflected(
    tmp_path: Path, sides: tuple[Engine, Engine, Engine]
) -> None:
    legacy_url = _legacy_database(tmp_path / "shop.sqlite3")
    shop = create_engine(legacy_url)
    legacy_outbox_metadata.create_all(shop)
    with shop.begin() as conn:
        conn.execute(
            text("CREATE TABLE internal_applied_event (event_id char(32) PRIMARY KEY, outcome text)")
        )
    copied = [_event(shop, outbox_event, "legacy", "3", sequence) for sequence in (1, 2)]
    broken = _event(shop, outbox_event, "legacy", "7", 1)  # order 7 does not translate: never copied
    _, sync, orders = sides
    assert check_order_history(shop, sync, orders).not_applied_on_service == [*copied, broken]
    source_engine = read_only_engine(legacy_url)
    try:
        run_orders_backfill(LegacyOrderSource(source_engine), FakeOrdersPort(), CheckpointStore(sync))
    finally:
        source_engine.dispose()
    with sync.connect() as conn:
        held = {row.aggregate_id: row.sequence for row in conn.execute(select(sync_aggregates))}
    assert held == {"3": 2}
    later = _event(shop, outbox_event, "legacy", "3", 3)  # after the copy: the consumer's to apply
    assert check_order_history(shop, sync, orders).not_applied_on_service == [broken, later]
    shop.dispose()
