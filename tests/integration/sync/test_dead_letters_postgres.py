"""Dead letters on a PostgreSQL service outbox: set aside in the transaction that marks the batch."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from acl.sync.core.dead_letters import DeadLetters
from acl.sync.core.engines import make_engine
from acl.sync.core.events import SyncEvent
from acl.sync.core.lag import combine, relay_backlog
from acl.sync.core.outcomes import REFUSED, EventOutcome
from acl.sync.core.tables import service_outbox
from acl.sync.service.outbox import create_service_outbox, record_service_event
from acl.sync.workers.relay import OutboxRelay

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_a_refused_event_is_set_aside_with_the_batch_marked(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            create_service_outbox(connection)
            ids = [
                record_service_event(
                    connection,
                    aggregate_type="order",
                    aggregate_id=n,
                    event_type="order.placed",
                    payload={"n": n},
                    origin="orders",
                )
                for n in range(1, 5)
            ]
        refused_id = ids[1]

        def monolith(events: Sequence[SyncEvent]) -> list[EventOutcome]:
            return [
                EventOutcome(e.event_id, REFUSED, {"code": "invalid_body", "message": "no lines"})
                if e.event_id == refused_id
                else EventOutcome(e.event_id, "applied")
                for e in events
            ]

        def down(events: Sequence[SyncEvent]) -> None:
            raise ConnectionError("monolith down")

        failing = OutboxRelay(engine, service_outbox, down, batch_size=10)
        with pytest.raises(ConnectionError):
            failing.run_once()
        assert failing.backlog()[0] == 4 and failing.dead_count() == 0  # rolled back, nothing set aside

        relay = OutboxRelay(engine, service_outbox, monolith, batch_size=10)
        assert relay.run_once() == 4
        assert relay.run_once() == 0
        with engine.connect() as connection:
            assert None not in connection.scalars(select(service_outbox.c.published_at)).all()
        [letter] = DeadLetters(engine).list()
        assert letter.event_id == refused_id and letter.origin == "orders"
        assert json.loads(letter.reason)["message"] == "no lines"
        figure = combine("reverse:orders", relay_backlog(relay))
        assert (figure.backlog, figure.dead) == (0, 1)
    finally:
        engine.dispose()
