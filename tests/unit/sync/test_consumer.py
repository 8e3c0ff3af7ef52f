from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from acl.catalog.sync.consumer import CatalogConsumer
from acl.sync.core.inbox import Inbox
from acl.sync.core.tables import sync_inbox
from tests.unit.sync.fakes import FakePort, FakeTransport, product_event

pytestmark = pytest.mark.unit


def _consumer(sync_db, hold_timeout: float = 60.0) -> tuple[CatalogConsumer, FakeTransport, FakePort]:
    transport, port = FakeTransport(), FakePort()
    consumer = CatalogConsumer(transport, Inbox(sync_db, "catalog"), port, hold_timeout=hold_timeout)
    return consumer, transport, port


def _outcomes(sync_db) -> dict[str, str]:
    with sync_db.connect() as connection:
        return dict(connection.execute(select(sync_inbox.c.event_id, sync_inbox.c.outcome)).all())


def test_applies_the_last_state_per_product_and_acks(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db)
    events = [product_event(1, 1, stk_qty=5), product_event(2, 1, stk_qty=1), product_event(1, 2, stk_qty=8)]
    transport.publish(events)
    assert consumer.run_once() == 3
    assert port.products[1].stock == 8 and port.products[2].stock == 1
    assert port.calls == [[1, 2]]
    assert sorted(transport.acked) == ["1", "2", "3"]
    transport.publish([events[0]])  # redelivered
    assert consumer.run_once() == 1
    assert port.calls == [[1, 2]]  # nothing applied again


def test_a_gap_is_held_until_the_missing_event_arrives(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db)
    first, second, third = (product_event(4, n, stk_qty=n) for n in (1, 2, 3))
    transport.publish([first, third])
    consumer.run_once()
    assert port.products[4].stock == 1
    assert transport.acked == ["1"]  # the held event is not acknowledged yet
    transport.publish([second])
    consumer.run_once()
    assert port.products[4].stock == 3
    assert sorted(transport.acked) == ["1", "2", "3"]


def test_a_gap_that_never_fills_is_bridged_after_the_hold_timeout(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db, hold_timeout=0.0)
    transport.publish([product_event(4, 1, stk_qty=1), product_event(4, 3, stk_qty=3)])
    consumer.run_once()  # held once...
    consumer.run_once()  # ...then applied
    assert port.products[4].stock == 3


def test_echoes_of_own_changes_are_recorded_not_applied_and_bad_rows_are_rejected(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db)
    echo = product_event(6, 1, origin="catalog", stk_qty=50)
    bad = product_event(7, 1, unit_prc="19.9")
    transport.publish([echo, bad])
    consumer.run_once()
    assert port.products == {}
    assert _outcomes(sync_db) == {echo.event_id: "echo", bad.event_id: "rejected"}


def test_a_failed_apply_rewinds_the_transport_and_records_nothing(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db)

    def broken(records):  # type: ignore[no-untyped-def]
        raise RuntimeError("catalog database is locked")

    port.apply_products = broken  # type: ignore[method-assign]
    transport.publish([product_event(1, 1)])
    with pytest.raises(RuntimeError, match="locked"):
        consumer.run_once()
    assert transport.rewound == 1 and transport.acked == []
    assert _outcomes(sync_db) == {}


def _fields_event(prd_id: int, sequence: int, changed: list[str], **columns: object):  # type: ignore[no-untyped-def]
    event = product_event(prd_id, sequence, **columns)
    payload = {**event.payload, "prd_ver": sequence, "prd_changed": changed}
    return dataclasses.replace(event, type="product.updated", payload=payload)


def test_a_versioned_fields_change_is_handed_over_as_a_change_never_as_the_row(sync_db) -> None:
    consumer, transport, port = _consumer(sync_db)
    transport.publish([product_event(1, 1, stk_qty=5)])
    consumer.run_once()
    renamed = _fields_event(1, 2, ["prd_nm"], prd_nm="Renamed", stk_qty=99)
    bad = _fields_event(1, 3, ["stk_qty"], stk_qty=1)  # the stock is not a field a fields change carries
    transport.publish([renamed, bad])
    consumer.run_once()
    assert port.calls == [[1]]  # the row is not copied again
    assert port.products[1].name == "Renamed" and port.products[1].stock == 5
    outcomes = _outcomes(sync_db)
    assert outcomes[renamed.event_id] == "applied" and outcomes[bad.event_id] == "rejected"
