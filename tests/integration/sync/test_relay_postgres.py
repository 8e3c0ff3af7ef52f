"""Several relays on one PostgreSQL outbox: FOR UPDATE SKIP LOCKED hands every row to exactly one of them."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from acl.sync.bootstrap import create_sync_schema
from acl.sync.core.engines import make_engine
from acl.sync.core.events import SyncEvent
from acl.sync.core.tables import legacy_outbox_metadata, outbox_event
from acl.sync.transports.sql_stream import SqlStreamTransport
from acl.sync.workers.relay import OutboxRelay

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

EVENTS = 600


def test_concurrent_relays_publish_each_event_once(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        legacy_outbox_metadata.create_all(engine)
        create_sync_schema(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(outbox_event),
                [
                    {
                        "event_id": str(uuid.uuid4()),
                        "aggregate_type": "product",
                        "aggregate_id": str(n % 10),
                        "sequence": n // 10 + 1,
                        "event_type": "product.stock_changed",
                        "payload": {"n": n},
                        "occurred_at": datetime(2026, 1, 1, 12, 0),
                        "origin": "legacy",
                    }
                    for n in range(EVENTS)
                ],
            )
        stream = SqlStreamTransport(engine, "pg-relays")
        published: Counter[str] = Counter()
        lock = threading.Lock()

        def publish(events: list[SyncEvent]) -> None:
            with lock:
                published.update(event.event_id for event in events)
            stream.publish(events)

        relays = [OutboxRelay(engine, outbox_event, publish, batch_size=25) for _ in range(3)]
        errors: list[BaseException] = []

        def drain(relay: OutboxRelay) -> None:
            try:
                while relay.run_once():
                    pass
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors
        assert len(published) == EVENTS and set(published.values()) == {1}
        assert sum(relay.published for relay in relays) == EVENTS
        with engine.connect() as connection:
            assert None not in connection.scalars(select(outbox_event.c.published_at)).all()
        assert len(stream.receive("catalog", limit=EVENTS + 10, wait=0)) == EVENTS
    finally:
        engine.dispose()
