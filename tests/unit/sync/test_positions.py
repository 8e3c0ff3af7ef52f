"""The services' half of read-your-writes: the events a request wrote, and which events a consumer took."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert

from acl.sync.core.positions import arrived, collected, collecting, note_event
from acl.sync.core.tables import sync_inbox, sync_metadata

pytestmark = pytest.mark.unit


def test_only_the_events_of_the_current_request_are_collected() -> None:
    note_event("before")  # outside a request: dropped
    with collecting() as found:
        note_event("a")
        note_event("b")
        assert collected() == ["a", "b"]
    assert found == ["a", "b"] and collected() == []


def test_arrived_reads_the_consumers_own_inbox() -> None:
    engine = create_engine("sqlite://")
    taken, elsewhere, missing = (str(uuid.uuid4()) for _ in range(3))
    assert arrived(engine, "orders", [taken]) == set()  # no inbox yet: nothing arrived
    sync_metadata.create_all(engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        for consumer, event in (("orders", taken), ("catalog", elsewhere)):
            connection.execute(
                insert(sync_inbox).values(
                    consumer=consumer, event_id=event, outcome="ignored", occurred_at=now, applied_at=now
                )
            )
    assert arrived(engine, "orders", [taken, elsewhere, missing]) == {taken}
