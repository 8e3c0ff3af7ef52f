from __future__ import annotations

from datetime import datetime

import pytest

from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox
from tests.unit.sync.fakes import product_event

pytestmark = pytest.mark.unit


def test_event_json_round_trip_and_validation() -> None:
    event = product_event(3, 2)
    assert SyncEvent.from_json(event.to_json()) == event
    with pytest.raises(ValueError, match="aware"):
        SyncEvent("e", "product", "1", 1, "t", {}, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="sequence"):
        SyncEvent.from_dict({**event.to_dict(), "sequence": 0})
    with pytest.raises(ValueError, match="not a sync event"):
        SyncEvent.from_dict({"event_id": "x"})


def test_inbox_applies_in_order_drops_duplicates_and_stale_and_holds_gaps(sync_db) -> None:
    inbox = Inbox(sync_db, "catalog")
    first, second, third, fourth = (product_event(1, n) for n in (1, 2, 3, 4))
    decisions = inbox.classify([first, second, second, fourth])
    assert [d.action for d in decisions] == ["apply", "apply", "duplicate", "hold"]
    inbox.record([(first, "applied"), (second, "applied")])

    later = inbox.classify([first, third, fourth, product_event(2, 5)])
    assert [d.action for d in later] == ["duplicate", "apply", "apply", "apply"]
    inbox.record([(third, "applied"), (fourth, "applied")])
    stale = product_event(1, 2)  # a different event id with an old sequence
    assert [d.action for d in inbox.classify([stale])] == ["stale"]
    # another consumer has its own inbox
    assert [d.action for d in Inbox(sync_db, "orders").classify([first])] == ["apply"]
