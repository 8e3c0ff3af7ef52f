"""Forward sync of order changes onto the orders service, checked against the order's version.

The real orders consumer applies the monolith's order events (which carry ``ord_ver``, the order's
version their change made) through the real sync port on a SQLite database: a change made on the
service meanwhile is never overwritten; the monolith's change waits in ``sync_conflict`` with both
statuses. Sequential changes still apply.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select, text

from acl.catalog.source import read_only_engine
from acl.orders.source import LegacyOrderSource
from acl.orders.sync.backfill import run_orders_backfill
from acl.orders.sync.changes import OrderChange
from acl.orders.sync.consumer import OrdersConsumer
from acl.sync.bootstrap import create_sync_schema
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.inbox import Inbox
from acl.sync.core.stock import sync_conflict
from acl.sync.core.tables import service_outbox, sync_inbox
from acl.sync.core.versions import sync_version
from new_services.orders.adapters.sync_port import create_port
from new_services.orders.domain import OrderStatus
from new_services.orders.service_layer.repository import OutboxMessage
from new_services.orders.settings import OrdersSettings
from tests.unit.sync.fakes import FakeTransport
from tests.unit.sync.order_fakes import FakeReferences, order_event
from tests.unit.sync.test_orders_backfill_and_reconcile import _legacy_database

pytestmark = pytest.mark.unit

ORDER_NO = "ORD-20260101-000001"


@pytest.fixture
def sync_db(tmp_path):
    """The sync database (the orders consumer's inbox), a SQLite file."""
    engine = create_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    create_sync_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def port(tmp_path):
    opened = create_port(OrdersSettings(STRANGLER_HOME=tmp_path))
    yield opened
    opened.close()


def _consumer(sync_db, port) -> tuple[OrdersConsumer, FakeTransport]:
    transport = FakeTransport()
    return OrdersConsumer(transport, Inbox(sync_db, "orders"), port, FakeReferences()), transport


def _status(port) -> str:
    with port.unit_of_work() as uow:
        order = uow.orders.get(ORDER_NO)
    return order.status.value


def _version(port) -> int:
    with port._engine.connect() as connection:
        return int(
            connection.scalar(select(sync_version.c.version).where(sync_version.c.aggregate_id == ORDER_NO))
        )


def _cancelled_on_the_service(port) -> None:
    """A change made on the orders service: the status and its outbox event in one unit of work."""
    with port.unit_of_work() as uow:
        order = uow.orders.get(ORDER_NO)
        order.status = OrderStatus.CANCELLED
        uow.orders.save_status(order)
        uow.outbox.add(OutboxMessage("order", ORDER_NO, "order.status_changed", {"status": "cancelled"}))
        uow.commit()


def test_sequential_changes_of_the_monolith_apply(sync_db, port) -> None:
    consumer, transport = _consumer(sync_db, port)
    placed = order_event(1, 1, ord_ver=1)
    paid = order_event(1, 2, event_type="order.status_changed", ord_sts="P", ord_ver=2)
    transport.publish([placed, paid])  # folded into one change: expects 0, makes 2
    assert consumer.run_once() == 2
    transport.publish([order_event(1, 3, event_type="order.status_changed", ord_sts="S", ord_ver=3)])
    assert consumer.run_once() == 1
    assert (_status(port), _version(port)) == ("shipped", 3)
    with sync_db.connect() as connection:
        assert set(connection.scalars(select(sync_inbox.c.outcome))) == {"applied"}
    with port._engine.connect() as connection:
        assert connection.execute(select(sync_conflict)).first() is None


def test_a_shipment_crossing_a_cancel_made_on_the_service_is_parked_with_both_statuses(sync_db, port) -> None:
    consumer, transport = _consumer(sync_db, port)
    transport.publish([order_event(1, 1, ord_ver=1)])
    assert consumer.run_once() == 1
    _cancelled_on_the_service(port)  # version 2 on the service
    with port._engine.connect() as connection:
        sent = connection.execute(select(service_outbox.c.payload)).scalar_one()
    assert sent["ord_ver"] == 2  # the monolith will check it the same way
    shipped = order_event(1, 2, event_type="order.status_changed", ord_sts="S", ord_ver=2)  # from version 1
    transport.publish([shipped])
    assert consumer.run_once() == 1
    assert (_status(port), _version(port)) == ("cancelled", 2)  # never overwritten
    with port._engine.connect() as connection:
        conflict = connection.execute(select(sync_conflict)).one()
    assert (conflict.event_id, conflict.origin, conflict.aggregate_type, conflict.aggregate_id) == (
        shipped.event_id,
        "legacy",
        "order",
        ORDER_NO,
    )
    assert json.loads(conflict.ours) == {"status": "cancelled"}
    assert json.loads(conflict.theirs)["status"] == "shipped"
    assert (conflict.expected_version, conflict.found_version, conflict.resolved_at) == (1, 2, None)
    with sync_db.connect() as connection:
        outcome = connection.scalar(
            select(sync_inbox.c.outcome).where(sync_inbox.c.event_id == shipped.event_id)
        )
    assert outcome == "conflict"


def test_an_order_the_service_never_counted_takes_the_change_and_its_version(sync_db, port, tmp_path) -> None:
    """Orders copied before versions were counted have nothing on the service to overwrite."""
    consumer, transport = _consumer(sync_db, port)
    transport.publish([order_event(1, 1)])  # no ord_ver: applied as before
    assert consumer.run_once() == 1
    transport.publish([order_event(1, 2, event_type="order.status_changed", ord_sts="P", ord_ver=4)])
    assert consumer.run_once() == 1
    assert (_status(port), _version(port)) == ("paid", 4)
    engine = create_engine(f"sqlite:///{tmp_path / 'services' / 'orders' / 'orders.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(select(sync_conflict)).first() is None
    engine.dispose()


def test_a_malformed_version_is_rejected_alone(sync_db, port) -> None:
    consumer, transport = _consumer(sync_db, port)
    bad = order_event(1, 1, ord_ver="2")
    transport.publish([bad, order_event(2, 1, ord_ver=1)])
    assert consumer.run_once() == 2
    with sync_db.connect() as connection:
        outcomes = dict(connection.execute(select(sync_inbox.c.event_id, sync_inbox.c.outcome)).all())
    assert outcomes[bad.event_id] == "rejected"
    assert sorted(outcomes.values()) == ["applied", "rejected"]


def test_the_backfill_gives_the_service_each_copied_orders_version(sync_db, port, tmp_path) -> None:
    """Copied at the monolith's version 5: a change made on the service then counts from 5, and the
    monolith's next change (version 6) applies."""
    legacy_url = _legacy_database(tmp_path / "shop.sqlite3")
    shop = create_engine(legacy_url)
    with shop.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE internal_aggregate_version"
                " (aggregate_type text, aggregate_id text, version int)"
            )
        )
        connection.execute(text("INSERT INTO internal_aggregate_version VALUES ('order', '3', 5)"))
    shop.dispose()
    source = read_only_engine(legacy_url)
    try:
        run_orders_backfill(LegacyOrderSource(source), port, CheckpointStore(sync_db))
    finally:
        source.dispose()
    with port._engine.connect() as connection:
        versions = dict(connection.execute(select(sync_version.c.aggregate_id, sync_version.c.version)).all())
    assert versions == {"ORD-20250101-000003": 5}  # orders the monolith never counted get none
    changed = port.apply_order_changes(
        [OrderChange("e6", "legacy", next(iter(_records(port, "ORD-20250101-000003"))), 5, 6)]
    )
    assert changed == {"e6": "applied"}


def _records(port, order_no: str):
    return [record for record in port.order_records() if record.order_no == order_no]
