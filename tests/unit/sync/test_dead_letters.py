"""Dead letters of the reverse relay: a refused event is set aside, the ones behind it go on, the
direction's lag record counts it, and ``python -m acl.sync dead-letters`` lists and retries it."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from acl.sync.commands.dead_letters import register, run
from acl.sync.core.dead_letters import DeadLetters
from acl.sync.core.engines import make_engine
from acl.sync.core.events import SyncEvent
from acl.sync.core.lag import combine, relay_backlog, store_lag
from acl.sync.core.outcomes import REFUSED, EventOutcome
from acl.sync.core.tables import (
    legacy_outbox_metadata,
    outbox_event,
    service_dead_letter,
    service_outbox,
    sync_dead,
)
from acl.sync.service.outbox import create_service_outbox, record_service_event
from acl.sync.settings import SyncSettings
from acl.sync.workers.relay import OutboxRelay, RelayCursor

pytestmark = pytest.mark.unit

NOT_FOUND = {"code": "not_found", "message": "Product 99 does not exist."}


@pytest.fixture
def service_db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.sqlite3'}")
    with engine.begin() as connection:
        create_service_outbox(connection)
    yield engine
    engine.dispose()


def _record(engine: Engine, *product_ids: int) -> list[str]:
    with engine.begin() as connection:
        return [
            record_service_event(
                connection,
                aggregate_type="product",
                aggregate_id=product_id,
                event_type="product.updated",
                payload={"prd_id": product_id, "stk_qty": product_id},
                origin="catalog",
            )
            for product_id in product_ids
        ]


class Monolith:
    """Refuses events of products it does not know; takes the rest."""

    def __init__(self, known: set[int]) -> None:
        self.known = known
        self.received: list[str] = []
        self.closed = False

    def apply_events(self, events: Sequence[SyncEvent]) -> list[EventOutcome]:
        outcomes = []
        for event in events:
            self.received.append(event.event_id)
            if int(event.aggregate_id) in self.known:
                outcomes.append(EventOutcome(event.event_id, "applied"))
            else:
                outcomes.append(EventOutcome(event.event_id, REFUSED, NOT_FOUND))
        return outcomes

    def close(self) -> None:
        self.closed = True


def test_a_refused_event_goes_to_the_dead_letters_and_the_next_ones_are_delivered(
    service_db: Engine, sync_db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad, after = _record(service_db, 1, 99, 2)
    monolith = Monolith({1, 2})
    cursor = RelayCursor(sync_db, "reverse:catalog")
    relay = OutboxRelay(service_db, service_outbox, monolith.apply_events, cursor=cursor)
    with caplog.at_level("ERROR", logger="acl.sync.core.dead_letters"):
        assert relay.run_once() == 3
    assert monolith.received == [good, bad, after]
    assert relay.backlog() == (0, None)  # nothing stalls behind the refused event
    assert relay.dead_count() == 1 and relay.dead_lettered == 1
    [row] = DeadLetters(service_db).list()
    assert (row.event_id, row.aggregate_id, row.attempts) == (bad, "99", 1)
    assert json.loads(row.reason) == NOT_FOUND
    assert any(
        bad in record.getMessage() and "does not exist" in record.getMessage() for record in caplog.records
    )

    # The direction's lag record counts it, in sync_dead next to sync_lag.
    figure = combine("reverse", relay_backlog(relay))
    assert (figure.backlog, figure.dead) == (0, 1) and figure.to_dict()["dead"] == 1
    store_lag(sync_db, [figure])
    with sync_db.connect() as connection:
        assert connection.execute(select(sync_dead.c.direction, sync_dead.c.dead)).all() == [("reverse", 1)]

    # The same batch sent again (a crash before the cursor moved): one dead letter, two attempts.
    cursor.save(0)
    assert relay.run_once() == 3
    [row] = DeadLetters(service_db).list()
    assert row.attempts == 2


def test_a_failed_send_keeps_the_batch_and_sets_nothing_aside(service_db: Engine, sync_db: Engine) -> None:
    _record(service_db, 1, 99)

    def unavailable(events: Sequence[SyncEvent]) -> None:
        raise ConnectionError("the monolith is down")

    relay = OutboxRelay(service_db, service_outbox, unavailable, cursor=RelayCursor(sync_db, "r"))
    with pytest.raises(ConnectionError):
        relay.run_once()
    assert relay.backlog()[0] == 2
    assert relay.dead_count() == 0


def test_an_outbox_without_dead_letters_refuses_to_drop_an_event(tmp_path: Path, sync_db: Engine) -> None:
    legacy = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    legacy_outbox_metadata.create_all(legacy)
    with legacy.begin() as connection:
        connection.execute(
            outbox_event.insert().values(
                event_id="0" * 32,
                aggregate_type="product",
                aggregate_id="1",
                sequence=1,
                event_type="product.updated",
                payload={},
                occurred_at=datetime(2026, 1, 1),
                origin="legacy",
            )
        )
    relay = OutboxRelay(
        legacy,
        outbox_event,
        lambda events: [EventOutcome(e.event_id, REFUSED, {}) for e in events],
        cursor=RelayCursor(sync_db, "relay:legacy"),
    )
    assert relay.dead_count() is None
    with pytest.raises(RuntimeError, match="keeps no dead letters"):
        relay.run_once()
    assert relay.backlog()[0] == 1  # not passed over
    legacy.dispose()


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dead-letters", *argv])


def test_the_command_lists_and_retries_dead_letters(
    service_db: Engine, sync_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _good, bad, worse = _record(service_db, 1, 98, 99)
    OutboxRelay(
        service_db, service_outbox, Monolith({1}).apply_events, cursor=RelayCursor(sync_db, "r")
    ).run_once()
    monkeypatch.setenv("STRANGLER_SYNC_SERVICE_DATABASE_URL", str(service_db.url))
    settings = SyncSettings()

    out = io.StringIO()
    assert run(settings, _args(), out=out) == 0
    assert out.getvalue().startswith("2 dead letters") and bad in out.getvalue() and worse in out.getvalue()
    out = io.StringIO()
    assert run(settings, _args("--json"), out=out) == 0
    listed = json.loads(out.getvalue())
    assert [entry["event_id"] for entry in listed] == [bad, worse]
    assert listed[0]["reason"] == NOT_FOUND and listed[0]["aggregate"] == "product/98"

    # Product 98 now exists on the monolith: its retry is delivered; 99 is refused again and stays.
    monolith = Monolith({1, 98})
    out = io.StringIO()
    assert run(settings, _args("--retry", bad), client_factory=lambda s: monolith, out=out) == 0  # type: ignore[arg-type,return-value]
    assert monolith.received == [bad] and monolith.closed
    assert [row.event_id for row in DeadLetters(service_db).list()] == [worse]
    assert run(settings, _args("--all"), client_factory=lambda s: monolith, out=io.StringIO()) == 1  # type: ignore[arg-type,return-value]
    [row] = DeadLetters(service_db).list()
    assert row.event_id == worse and row.attempts == 2
    assert run(settings, _args("--retry", "no-such-event"), client_factory=lambda s: monolith) == 2  # type: ignore[arg-type,return-value]
    with service_db.connect() as connection:
        assert connection.scalar(select(service_dead_letter.c.event_id)) == worse
