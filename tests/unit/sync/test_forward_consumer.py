"""The generic forward consumer with the service kit's inbox on the other side: each monolith event is
applied once by the service's applier for its aggregate, in order; the service's own changes (echoes)
are never sent; an event the service refuses is rejected and the rest go on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, create_engine, select

from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox
from acl.sync.core.outcomes import REFUSED, EventOutcome
from acl.sync.core.tables import sync_inbox
from acl.sync.service.apply import ForwardEventError, ForwardInbox
from acl.sync.service.inbox import create_service_inbox
from acl.sync.workers.forward_consumer import ServiceForwardConsumer
from tests.unit.sync.fakes import FakeTransport

pytestmark = pytest.mark.unit

metadata = MetaData()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(50)))


class NoteApplier:
    aggregate_type: ClassVar[str] = "note"
    event_types: ClassVar[frozenset[str]] = frozenset({"note.saved"})

    def apply(self, connection: Connection, event: SyncEvent) -> None:
        text = event.payload.get("text")
        if not isinstance(text, str):
            raise ForwardEventError("text", "text must be a string")
        key = int(event.aggregate_id)
        if not connection.execute(notes.update().where(notes.c.id == key).values(text=text)).rowcount:
            connection.execute(notes.insert().values(id=key, text=text))


class InboxClient:
    """What the service's endpoint does with a batch, without HTTP: ``ForwardInbox.apply``."""

    def __init__(self, inbox: ForwardInbox) -> None:
        self.inbox = inbox
        self.sent: list[list[str]] = []

    def apply_events(self, events: Sequence[SyncEvent], *, batch: int = 100) -> list[EventOutcome]:
        self.sent.append([event.event_id for event in events])
        results = self.inbox.apply([event.to_dict() for event in events])
        return [
            EventOutcome(r["event_id"], REFUSED, r["error"])
            if "error" in r
            else EventOutcome(r["event_id"], r["outcome"])
            for r in results
        ]


def _event(key: int, sequence: int, text: object, *, origin: str = "legacy", kind: str = "note") -> SyncEvent:
    return SyncEvent(
        event_id=str(uuid.uuid4()),
        aggregate_type=kind,
        aggregate_id=str(key),
        sequence=sequence,
        type=f"{kind}.saved",
        payload={"text": text},
        occurred_at=datetime.now(UTC),
        origin=origin,
    )


@pytest.fixture
def service_db(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'service.sqlite3'}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        create_service_inbox(connection)
    return engine


def _rows(engine: Engine) -> dict[int, str]:
    with engine.connect() as connection:
        return {row.id: row.text for row in connection.execute(select(notes))}


def test_each_event_is_applied_once_in_order_and_echoes_are_not_sent(
    sync_db: Engine, service_db: Engine
) -> None:
    transport, client = FakeTransport(), InboxClient(ForwardInbox(service_db, [NoteApplier()]))
    consumer = ServiceForwardConsumer(transport, Inbox(sync_db, "forward-notes"), client, origin="notes")
    first, second = _event(1, 1, "one"), _event(1, 2, "one, edited")
    echo, other = _event(2, 1, "made by the service", origin="notes"), _event(3, 1, "x", kind="invoice")
    transport.publish([first, second, echo, other])
    assert consumer.run_once() == 4
    assert _rows(service_db) == {1: "one, edited"}
    assert echo.event_id not in [event_id for batch in client.sent for event_id in batch]
    with sync_db.connect() as connection:
        outcomes = dict(connection.execute(select(sync_inbox.c.event_id, sync_inbox.c.outcome)).all())
    assert outcomes == {
        first.event_id: "applied",
        second.event_id: "applied",
        echo.event_id: "echo",
        other.event_id: "ignored",
    }
    # a batch sent again (the consumer crashed before recording it): the service's inbox drops it
    assert [r["outcome"] for r in client.inbox.apply([first.to_dict(), second.to_dict()])] == [
        "duplicate",
        "duplicate",
    ]
    assert client.inbox.apply([_event(1, 1, "older").to_dict()])[0]["outcome"] == "stale"
    assert _rows(service_db) == {1: "one, edited"}


def test_a_refused_event_is_rejected_and_the_next_ones_go_on(sync_db: Engine, service_db: Engine) -> None:
    transport, client = FakeTransport(), InboxClient(ForwardInbox(service_db, [NoteApplier()]))
    consumer = ServiceForwardConsumer(transport, Inbox(sync_db, "forward-notes"), client, origin="notes")
    bad, good = _event(5, 1, 42), _event(6, 1, "six")
    transport.publish([bad, good])
    assert consumer.run_once() == 2
    assert consumer.stats.rejected == 1
    assert _rows(service_db) == {6: "six"}
    assert sorted(transport.acked) == ["1", "2"]


def test_a_failing_service_leaves_the_batch_to_come_again(sync_db: Engine, service_db: Engine) -> None:
    class Down:
        def apply_events(self, events: Sequence[SyncEvent], *, batch: int = 100) -> list[EventOutcome]:
            raise ConnectionError("the service is down")

    transport = FakeTransport()
    consumer = ServiceForwardConsumer(transport, Inbox(sync_db, "forward-notes"), Down(), origin="notes")
    transport.publish([_event(7, 1, "seven")])
    with pytest.raises(ConnectionError):
        consumer.run_once()
    assert transport.acked == []


def test_two_appliers_for_one_aggregate_are_refused(service_db: Engine) -> None:
    with pytest.raises(ValueError, match="two appliers for the aggregate 'note'"):
        ForwardInbox(service_db, [NoteApplier(), NoteApplier()])
