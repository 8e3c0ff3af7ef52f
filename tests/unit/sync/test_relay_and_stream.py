from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from acl.sync.core.engines import make_engine
from acl.sync.core.tables import legacy_outbox_metadata, outbox_event
from acl.sync.transports.sql_stream import SqlStreamTransport
from acl.sync.workers.relay import OutboxRelay, RelayCursor, RelayLock, RelayLocked
from tests.unit.sync.fakes import product_event

pytestmark = pytest.mark.unit


def _outbox(tmp_path: Path, count: int):
    engine = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    legacy_outbox_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(outbox_event),
            [
                {
                    "event_id": uuid.uuid4().hex,  # Django keeps UUIDs as 32 hex digits on SQLite
                    "aggregate_type": "product",
                    "aggregate_id": str(n % 3),
                    "sequence": n,
                    "event_type": "product.stock_changed",
                    "payload": {"stk_qty": n},
                    "occurred_at": datetime(2026, 1, 1, 12, 0, n),
                    "origin": "legacy",
                }
                for n in range(1, count + 1)
            ],
        )
    return engine


def test_sqlite_relay_publishes_in_id_order_once_and_reports_its_backlog(tmp_path: Path, sync_db) -> None:
    legacy = _outbox(tmp_path, 5)
    stream = SqlStreamTransport(sync_db, "s1")
    relay = OutboxRelay(legacy, outbox_event, stream.publish, batch_size=3, cursor=RelayCursor(sync_db, "r"))
    assert relay.backlog() == (5, datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC))
    assert relay.run_once() == 3
    assert relay.run_once() == 2
    assert relay.run_once() == 0
    assert relay.backlog() == (0, None)
    deliveries = stream.receive("catalog", limit=10, wait=0)
    assert [d.event.payload["stk_qty"] for d in deliveries] == [1, 2, 3, 4, 5]
    assert all(len(d.event.event_id) == 36 for d in deliveries)  # normalised to the dashed form
    with legacy.connect() as connection:  # on SQLite the relay never writes to the monolith's database
        assert set(connection.scalars(select(outbox_event.c.published_at)).all()) == {None}
    with pytest.raises(ValueError, match="RelayCursor"):
        OutboxRelay(legacy, outbox_event, stream.publish)


def test_sql_stream_dedupes_on_publish_and_keeps_offsets_per_consumer(sync_db) -> None:
    stream = SqlStreamTransport(sync_db, "s2")
    events = [product_event(1, n) for n in (1, 2, 3)]
    stream.publish(events)
    stream.publish(events[1:])  # a relay that crashed before marking publishes again
    first = stream.receive("a", limit=2, wait=0)
    assert [d.event for d in first] == events[:2]
    stream.ack("a", first)
    assert stream.backlog("a").count == 1 and stream.backlog("a").oldest == events[2].occurred_at
    assert [d.event for d in stream.receive("a", limit=10, wait=0)] == events[2:]
    assert len(stream.receive("b", limit=10, wait=0)) == 3
    assert stream.receive("a", limit=10, wait=0.05)[0].event == events[2]  # not acked yet: again


def test_only_one_relay_holds_a_sqlite_outbox(tmp_path: Path) -> None:
    legacy = _outbox(tmp_path, 1)
    first, second = RelayLock.for_engine(legacy, "relay"), RelayLock.for_engine(legacy, "relay")
    first.acquire()
    try:
        with pytest.raises(RelayLocked, match="only one relay"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()


def test_sql_stream_prunes_only_what_every_consumer_acknowledged(sync_db) -> None:
    from datetime import timedelta

    stream = SqlStreamTransport(sync_db, "s3")
    events = [product_event(1, n) for n in (1, 2, 3)]  # occurred in 2026-01, long ago for `keep`
    stream.publish(events)
    assert stream.prune(keep=timedelta(0)) == 0  # nobody acknowledged anything yet
    stream.ack("a", stream.receive("a", limit=3, wait=0))
    stream.ack("b", stream.receive("b", limit=1, wait=0))
    assert stream.prune(keep=timedelta(days=36500)) == 0  # too recent to go
    assert stream.prune(keep=timedelta(0)) == 1  # b still needs events 2 and 3
    assert [d.event for d in stream.receive("b", limit=10, wait=0)] == events[1:]
